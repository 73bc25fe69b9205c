# Writes maven-differential.txt: random Maven versions ordered by ComparableVersion of
# maven-artifact 3.8.7 (Debian 12 package maven). Versions where 3.8.7 and 3.8.6 differ (a
# qualifier right after ".") or where customs follows the POM spec ("-ga-") are not generated.
import random, re, subprocess
random.seed(7)
quals = ["alpha", "beta", "milestone", "rc", "cr", "snapshot", "ga", "final", "release", "sp",
         "a", "b", "m", "foo", "xyz", "SNAPSHOT", "RC", "Final", "jre", "android"]
def part():
    r = random.random()
    if r < 0.5: return str(random.choice([0, 0, 1, 2, 3, 10, 11, 123, 20200101]))
    if r < 0.6: return "0" * random.randint(1, 3)
    if r < 0.9: return random.choice(quals)
    return random.choice(quals) + str(random.randint(0, 3))
def ver():
    s = str(random.randint(0, 3))
    for _ in range(random.randint(0, 5)):
        s += random.choice([".", "-", "", "."]) + part()
    return s
bad = re.compile(r"\.[A-Za-z]|-(ga|final|release)-", re.I)
vs = [v for v in (ver() for _ in range(12000)) if not bad.search(v)][:5000]
jar = "/usr/share/maven/lib/maven-artifact-3.x.jar"
cmd = ["java", "-cp", jar, "org.apache.maven.artifact.versioning.ComparableVersion"]
out = subprocess.run(cmd + vs, capture_output=True, text=True).stdout
with open("maven-differential.txt", "w") as f:
    for line in out.splitlines():
        if line.startswith("   "):
            f.write(line.strip().replace(" == ", " = ") + "\n")
