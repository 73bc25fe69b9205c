# Writes pep440-differential.txt: random PEP 440 pairs ordered by packaging (pip install --target . packaging).
import random, sys
sys.path.insert(0, ".")
from packaging.version import Version
random.seed(11)
def ver():
    s = ""
    if random.random() < 0.1: s += f"{random.randint(0,2)}!"
    s += ".".join(str(random.choice([0,0,1,2,10,"01","00"])) for _ in range(random.randint(1,4)))
    if random.random() < 0.4: s += random.choice(["a","b","rc","c","alpha","beta","pre","preview","-a",".b","_rc"]) + random.choice(["","0","1","2","10"])
    if random.random() < 0.3: s += random.choice([".post","-post","post","-","_r",".rev"]) + random.choice(["","0","1","3"])
    if random.random() < 0.3: s += random.choice([".dev","dev","-dev","_dev"]) + random.choice(["","0","1","5"])
    if random.random() < 0.2: s += "+" + ".".join(random.choice(["abc","1","02","x","ubuntu"]) for _ in range(random.randint(1,3)))
    if random.random() < 0.1: s = "v" + s
    if random.random() < 0.1: s = s.upper()
    return s
out = []
while len(out) < 4000:
    a, b = ver(), ver()
    try:
        va, vb = Version(a), Version(b)
    except Exception:
        continue
    op = "<" if va < vb else (">" if va > vb else "=")
    out.append(f"{a} {op} {b}")
open("pep440-differential.txt","w").write("\n".join(out)+"\n")
