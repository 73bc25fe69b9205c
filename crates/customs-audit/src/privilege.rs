//! Least privilege: the effective user, set-id files, file capabilities, world-writable
//! paths, a writable entrypoint, tools an attacker would want (shells, package managers,
//! compilers, network tools, sudo), port 22, empty passwords and shared UIDs/GIDs.

use std::collections::BTreeMap;

use customs_image::tar::EntryKind;

use crate::rules::{self, Diag, RuleInfo};
use crate::{Ctx, Evidence};

/// One `/etc/passwd` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub password: String,
    pub uid: u64,
    pub gid: u64,
}

/// Parses `/etc/passwd`; malformed lines are skipped.
pub fn parse_passwd(data: &[u8]) -> Vec<PasswdEntry> {
    String::from_utf8_lossy(data)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 || f[0].is_empty() || f[0].starts_with('+') || f[0].starts_with('-') {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                password: f[1].to_string(),
                uid: f[2].trim().parse().ok()?,
                gid: f[3].trim().parse().ok()?,
            })
        })
        .collect()
}

/// Parses `/etc/group` into (name, gid).
pub fn parse_group(data: &[u8]) -> Vec<(String, u64)> {
    String::from_utf8_lossy(data)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 || f[0].is_empty() || f[0].starts_with('+') || f[0].starts_with('-') {
                return None;
            }
            Some((f[0].to_string(), f[2].trim().parse().ok()?))
        })
        .collect()
}

/// Whether a password field means "no password at all". Locked (`!`, `*`, `!!`, `!*`,
/// `*LK*`, `!$6$…`) and hashed values are not empty.
pub fn is_empty_password(field: &str) -> bool {
    field.is_empty()
}

/// Who the container runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeUser {
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub root: bool,
    /// Why it is root, when it is.
    pub reason: String,
}

/// Resolves `config.User` against the image's `/etc/passwd` and `/etc/group`.
pub fn runtime_user(user: &str, passwd: &[PasswdEntry], groups: &[(String, u64)]) -> RuntimeUser {
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u.trim(), Some(g.trim())),
        None => (user.trim(), None),
    };
    let gid = g.and_then(|g| {
        g.parse::<u64>()
            .ok()
            .or_else(|| groups.iter().find(|(n, _)| n == g).map(|(_, id)| *id))
    });
    if u.is_empty() {
        return RuntimeUser {
            uid: Some(0),
            gid: Some(gid.unwrap_or(0)),
            root: true,
            reason: "the default user is root".into(),
        };
    }
    if let Ok(uid) = u.parse::<u64>() {
        let primary = passwd.iter().find(|p| p.uid == uid).map(|p| p.gid);
        return RuntimeUser {
            uid: Some(uid),
            gid: gid.or(primary),
            root: uid == 0,
            reason: "uid 0".into(),
        };
    }
    match passwd.iter().find(|p| p.name == u) {
        Some(p) => RuntimeUser {
            uid: Some(p.uid),
            gid: gid.or(Some(p.gid)),
            root: p.uid == 0,
            reason: if u == "root" {
                "the root account".into()
            } else {
                format!("{u:?} has uid 0 in /etc/passwd")
            },
        },
        None => RuntimeUser {
            uid: None,
            gid,
            root: u == "root",
            reason: "the root account".into(),
        },
    }
}

const BIN_DIRS: &[&str] = &[
    "bin",
    "sbin",
    "usr/bin",
    "usr/sbin",
    "usr/local/bin",
    "usr/local/sbin",
];

const SHELLS: &[&str] = &[
    "sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "busybox",
];
const PACKAGE_MANAGERS: &[&str] = &[
    "apt", "apt-get", "dpkg", "apk", "yum", "dnf", "microdnf", "tdnf", "rpm", "zypper", "pacman",
];
const COMPILERS: &[&str] = &[
    "gcc", "g++", "cc", "c++", "clang", "clang++", "tcc", "rustc", "cargo", "go", "javac", "make",
];
const NETWORK_TOOLS: &[&str] = &[
    "curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "ftp", "ssh", "sshd", "scp", "nmap",
    "tftp",
];
const SUDO: &[&str] = &["sudo", "doas"];

/// Which of `names` exist as executables (following symlinks) in the usual bin directories:
/// `/dir/name` of the first place each is found, and the first one's path in the filesystem
/// (through directory symlinks such as merged `/bin -> usr/bin`).
fn present(ctx: &Ctx, names: &[&str]) -> (Vec<String>, Option<String>) {
    let mut first = None;
    let mut found = Vec::new();
    for name in names {
        for dir in BIN_DIRS {
            let path = format!("{dir}/{name}");
            let Some(resolved) = ctx.fs.resolve(&path) else {
                continue;
            };
            let Some(node) = ctx.fs.get(&resolved) else {
                continue;
            };
            if matches!(node.kind, EntryKind::File | EntryKind::Hardlink) {
                found.push(format!("/{path}"));
                if first.is_none() {
                    first = Some(if ctx.fs.get(&path).is_some() {
                        path
                    } else {
                        resolved
                    });
                }
                break;
            }
        }
    }
    (found, first)
}

fn tool_check(ctx: &Ctx, rule: &'static RuleInfo, names: &[&str]) -> Option<(Diag, Evidence)> {
    let (tools, first) = present(ctx, names);
    Some((
        Diag::ToolPresent { rule, tools },
        ctx.visible_evidence(&first?),
    ))
}

fn config_evidence(key: &str) -> Evidence {
    Evidence {
        config_key: Some(key.to_string()),
        ..Evidence::default()
    }
}

/// Runs every privilege rule.
pub fn check(ctx: &Ctx, warnings: &mut Vec<String>) -> Vec<(Diag, Evidence)> {
    let mut out = Vec::new();
    let cfg = &ctx.image.config.config;
    let passwd = ctx
        .read_final("etc/passwd")
        .map(parse_passwd)
        .unwrap_or_default();
    let groups = ctx
        .read_final("etc/group")
        .map(parse_group)
        .unwrap_or_default();
    let user = cfg.user.clone().unwrap_or_default();
    let who = runtime_user(&user, &passwd, &groups);
    if who.root {
        out.push((
            Diag::RunsAsRoot {
                user: user.clone(),
                reason: who.reason.clone(),
            },
            config_evidence("config.User"),
        ));
    } else {
        let name = user.split(':').next().unwrap_or("").trim();
        if who.uid.is_none() {
            warnings.push(format!(
                "USER {name:?} is not in /etc/passwd; the container cannot start as that user"
            ));
        }
        if name.parse::<u64>().is_err() {
            out.push((
                Diag::NonNumericUser { user: user.clone() },
                config_evidence("config.User"),
            ));
        }
        if let Some(d) = entrypoint_writable(ctx, &who, &user) {
            out.push(d);
        }
    }

    for (path, node) in ctx.fs.iter() {
        if node.implicit {
            continue;
        }
        let mode = node.mode & 0o7777;
        match node.kind {
            EntryKind::File => {
                if mode & 0o6000 != 0 {
                    out.push((
                        Diag::Setid {
                            path: path.to_string(),
                            mode,
                        },
                        ctx.visible_evidence(path),
                    ));
                }
                if node.xattrs.iter().any(|(k, _)| k == "security.capability") {
                    out.push((
                        Diag::FileCapability {
                            path: path.to_string(),
                        },
                        ctx.visible_evidence(path),
                    ));
                }
                if mode & 0o002 != 0 {
                    out.push((
                        Diag::WorldWritable {
                            path: path.to_string(),
                            dir: false,
                            mode,
                        },
                        ctx.visible_evidence(path),
                    ));
                }
            }
            EntryKind::Dir if mode & 0o002 != 0 && mode & 0o1000 == 0 => {
                out.push((
                    Diag::WorldWritable {
                        path: path.to_string(),
                        dir: true,
                        mode,
                    },
                    ctx.visible_evidence(path),
                ));
            }
            _ => {}
        }
    }

    let tools: [(&'static RuleInfo, &[&str]); 5] = [
        (&rules::SHELL_PRESENT, SHELLS),
        (&rules::PACKAGE_MANAGER_PRESENT, PACKAGE_MANAGERS),
        (&rules::COMPILER_PRESENT, COMPILERS),
        (&rules::NETWORK_TOOL_PRESENT, NETWORK_TOOLS),
        (&rules::SUDO_PRESENT, SUDO),
    ];
    for (rule, names) in tools {
        if let Some(d) = tool_check(ctx, rule, names) {
            out.push(d);
        }
    }

    for port in cfg.exposed_ports.iter().flat_map(|p| p.keys()) {
        let (num, proto) = port.split_once('/').unwrap_or((port, "tcp"));
        if num.trim() == "22" && proto.eq_ignore_ascii_case("tcp") {
            out.push((
                Diag::SshPort { port: port.clone() },
                config_evidence("config.ExposedPorts"),
            ));
        }
    }

    if let Some(shadow) = ctx.read_final("etc/shadow") {
        for line in String::from_utf8_lossy(shadow).lines() {
            let mut f = line.split(':');
            let (Some(name), Some(pw)) = (f.next(), f.next()) else {
                continue;
            };
            if !name.is_empty() && is_empty_password(pw) {
                out.push((
                    Diag::EmptyPassword {
                        account: name.to_string(),
                        file: "etc/shadow",
                    },
                    ctx.visible_evidence("etc/shadow"),
                ));
            }
        }
    }
    for p in &passwd {
        if is_empty_password(&p.password) {
            out.push((
                Diag::EmptyPassword {
                    account: p.name.clone(),
                    file: "etc/passwd",
                },
                ctx.visible_evidence("etc/passwd"),
            ));
        }
    }

    let mut by_uid: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for p in &passwd {
        by_uid.entry(p.uid).or_default().push(p.name.clone());
    }
    for (id, names) in by_uid.into_iter().filter(|(_, n)| n.len() > 1) {
        out.push((
            Diag::DuplicateId {
                rule: &rules::DUPLICATE_UID,
                file: "etc/passwd",
                id,
                names,
            },
            ctx.visible_evidence("etc/passwd"),
        ));
    }
    let mut by_gid: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (n, g) in &groups {
        by_gid.entry(*g).or_default().push(n.clone());
    }
    for (id, names) in by_gid.into_iter().filter(|(_, n)| n.len() > 1) {
        out.push((
            Diag::DuplicateId {
                rule: &rules::DUPLICATE_GID,
                file: "etc/group",
                id,
                names,
            },
            ctx.visible_evidence("etc/group"),
        ));
    }
    out
}

/// `CUS-PRIV-006`: the program the container starts (first of `Entrypoint`, else of `Cmd`)
/// is writable by the non-root runtime user, or sits in a directory that user can write.
fn entrypoint_writable(
    ctx: &Ctx,
    who: &crate::privilege::RuntimeUser,
    user: &str,
) -> Option<(Diag, Evidence)> {
    let cfg = &ctx.image.config.config;
    let (program, key) = match cfg.entrypoint.as_ref().and_then(|e| e.first()) {
        Some(p) => (p.clone(), "config.Entrypoint"),
        None => (cfg.cmd.as_ref()?.first()?.clone(), "config.Cmd"),
    };
    let uid = who.uid?;
    let candidates: Vec<String> = if program.contains('/') {
        vec![program.clone()]
    } else {
        let path_var = cfg
            .env
            .iter()
            .flatten()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        path_var
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| format!("{}/{program}", d.trim_end_matches('/')))
            .collect()
    };
    let resolved = candidates.iter().find_map(|c| {
        let r = ctx.fs.resolve(c.trim_start_matches('/'))?;
        let n = ctx.fs.get(&r)?;
        (n.kind == EntryKind::File).then_some(r)
    })?;
    let can_write = |path: &str| -> bool {
        let Some(n) = ctx.fs.get(path) else {
            return false;
        };
        let m = n.mode;
        (n.uid == uid && m & 0o200 != 0)
            || (who.gid == Some(n.gid) && m & 0o020 != 0)
            || m & 0o002 != 0
    };
    let what = if can_write(&resolved) {
        "the file itself".to_string()
    } else {
        let dir = resolved.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let sticky_foreign = ctx
            .fs
            .get(dir)
            .is_some_and(|n| n.mode & 0o1000 != 0 && n.uid != uid);
        if dir.is_empty() || !can_write(dir) || sticky_foreign {
            return None;
        }
        format!("its directory /{dir}")
    };
    let mut evidence = ctx.visible_evidence(&resolved);
    evidence.config_key = Some(key.to_string());
    Some((
        Diag::EntrypointWritable {
            path: resolved,
            what,
            user: user.to_string(),
        },
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\napp:x:1000:1000::/srv:/sbin/nologin\n";

    #[test]
    fn user_forms_that_mean_root() {
        let p = parse_passwd(PASSWD);
        for u in ["", "root", "0", "0:0", "0:1000", "root:root", "toor"] {
            assert!(runtime_user(u, &p, &[]).root, "{u:?}");
        }
        for u in ["1000", "1000:1000", "app", "app:app", "65534"] {
            assert!(!runtime_user(u, &p, &[]).root, "{u:?}");
        }
        assert_eq!(runtime_user("app", &p, &[]).gid, Some(1000));
    }

    #[test]
    fn locked_passwords_are_not_empty() {
        for locked in ["!", "*", "!!", "!*", "*LK*", "!$6$abc$def", "x"] {
            assert!(!is_empty_password(locked));
        }
        assert!(is_empty_password(""));
    }

    #[test]
    fn malformed_passwd_lines_are_skipped() {
        let p = parse_passwd(b"garbage\n:x:0:0\nok:x:5:5:::\nbad:x:notanumber:1\n+nis\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].name, "ok");
    }
}
