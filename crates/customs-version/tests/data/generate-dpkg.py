# Writes dpkg-differential.txt: random dpkg version pairs ordered by dpkg --compare-versions.
import random, subprocess
random.seed(3)
alpha = "0123456789abcz.+~-"
def up():
    s = str(random.randint(0,20))
    for _ in range(random.randint(0,6)):
        s += random.choice(alpha)
    return s
def ver():
    s = ""
    if random.random() < 0.2: s += str(random.randint(0,3)) + ":"
    s += up()
    if random.random() < 0.5:
        s += "-" + "".join(random.choice("0123456789abz.+~") for _ in range(random.randint(1,4)))
    return s
lines = []
for _ in range(1500):
    a, b = ver(), ver()
    ops = []
    for op, sym in (("lt","<"),("eq","="),("gt",">")):
        r = subprocess.run(["dpkg","--compare-versions",a,op,b], capture_output=True)
        if r.returncode == 0: ops.append(sym)
    if len(ops) == 1 and b"warning" not in r.stderr:
        lines.append(f"{a} {ops[0]} {b}")
open("dpkg-differential.txt","w").write("\n".join(lines)+"\n")
