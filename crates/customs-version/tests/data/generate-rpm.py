# Writes rpm-differential.txt: random EVR pairs ordered by rpm.vercmp of rpm 4.18 (Lua, via rpm --eval).
import random, subprocess
random.seed(5)
chars = "0123456789abzAZ._+~^"
def seg():
    return str(random.randint(0, 12)) + "".join(random.choice(chars) for _ in range(random.randint(0, 5)))
def ver():
    s = ""
    if random.random() < 0.2: s += str(random.randint(0, 3)) + ":"
    s += seg() + "-" + seg()
    return s
pairs = [(ver(), ver()) for _ in range(4000)]
import os
open("pairs.lua", "w").write("\n".join(f'print(rpm.vercmp("{a}", "{b}") .. ";")' for a, b in pairs) + "\n")
out = subprocess.run(["rpm", "--eval", "%{lua: dofile('" + os.path.abspath("pairs.lua") + "')}"], capture_output=True, text=True).stdout.replace("\n", "").strip(";").split(";")
assert len(out) == len(pairs), (len(out), len(pairs))
with open("rpm-differential.txt", "w") as f:
    for (a, b), r in zip(pairs, out):
        f.write(f"{a} {'<' if r == '-1' else '>' if r == '1' else '='} {b}\n")
