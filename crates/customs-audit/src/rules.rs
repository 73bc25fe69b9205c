//! Every audit rule in one place: its stable id, family, default severity, title and fix
//! hint ([`RULES`]), and every finding message ([`Diag::message`]). Checks build a [`Diag`];
//! nothing else writes rule text.

use serde::Serialize;

pub use customs_inventory::Severity;

/// The family a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Least privilege (`CUS-PRIV-*`).
    Privilege,
    /// Secrets (`CUS-SEC-*`).
    Secrets,
    /// Minimal layers (`CUS-LAYER-*`).
    Layers,
    /// Immutability and updates (`CUS-FRESH-*`).
    Freshness,
    /// Trusted base (`CUS-BASE-*`).
    Base,
}

/// A rule's fixed description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id, `CUS-<FAMILY>-<NNN>`.
    pub id: &'static str,
    /// Short CamelCase name.
    pub name: &'static str,
    /// The family the rule is in.
    pub family: Family,
    /// How serious a finding of the rule is.
    pub severity: Severity,
    /// One-line title.
    pub title: &'static str,
    /// What to do about it.
    pub fix: &'static str,
}

macro_rules! rules {
    ($($konst:ident = $id:literal, $name:literal, $family:ident, $sev:ident, $title:literal, $fix:literal;)*) => {
        $(
            #[doc = $title]
            pub const $konst: RuleInfo = RuleInfo {
                id: $id, name: $name, family: Family::$family, severity: Severity::$sev,
                title: $title, fix: $fix,
            };
        )*
        /// Every rule, in id order within each family.
        pub const RULES: &[RuleInfo] = &[$($konst),*];
    };
}

rules! {
    RUNS_AS_ROOT = "CUS-PRIV-001", "RunsAsRoot", Privilege, High,
        "Container runs as root",
        "Add `USER <uid>:<gid>` with a non-zero numeric uid (create the user in an earlier step).";
    NON_NUMERIC_USER = "CUS-PRIV-002", "NonNumericUser", Privilege, Low,
        "USER is a name, not a numeric uid",
        "Use a numeric `USER 1000:1000` so Kubernetes `runAsNonRoot` can verify it.";
    SETUID_FILE = "CUS-PRIV-003", "SetuidFile", Privilege, Medium,
        "setuid or setgid file",
        "Remove the set-id bit (`chmod u-s,g-s FILE`) or the file, unless the container needs it.";
    FILE_CAPABILITY = "CUS-PRIV-004", "FileCapability", Privilege, Medium,
        "File carries Linux capabilities",
        "Drop the `security.capability` attribute (`setcap -r FILE`) unless the program needs it.";
    WORLD_WRITABLE = "CUS-PRIV-005", "WorldWritable", Privilege, Medium,
        "World-writable path",
        "Remove the write bit for others (`chmod o-w`) or, for shared directories, add the sticky bit (`chmod +t`).";
    ENTRYPOINT_WRITABLE = "CUS-PRIV-006", "EntrypointWritable", Privilege, High,
        "Entrypoint writable by the runtime user",
        "Make the entrypoint and its directory owned by root and not writable by the runtime user.";
    SHELL_PRESENT = "CUS-PRIV-007", "ShellPresent", Privilege, Info,
        "Shell present",
        "Use a distroless or scratch-based final stage if the application does not need a shell.";
    PACKAGE_MANAGER_PRESENT = "CUS-PRIV-008", "PackageManagerPresent", Privilege, Info,
        "Package manager present",
        "Install packages in a build stage and copy the result into a final stage without the package manager.";
    COMPILER_PRESENT = "CUS-PRIV-009", "CompilerPresent", Privilege, Low,
        "Compiler or build tool present",
        "Build in a separate stage; do not ship compilers in the runtime image.";
    NETWORK_TOOL_PRESENT = "CUS-PRIV-010", "NetworkToolPresent", Privilege, Low,
        "Network tool present",
        "Remove download and remote-access tools (curl, wget, nc, sshd) from the runtime image.";
    SUDO_PRESENT = "CUS-PRIV-011", "SudoPresent", Privilege, Medium,
        "sudo present",
        "Remove sudo/doas; a container should not escalate privileges at run time.";
    SSH_PORT_EXPOSED = "CUS-PRIV-012", "SshPortExposed", Privilege, Medium,
        "Port 22 exposed",
        "Do not run SSH in a container; use `docker exec`/`kubectl exec` instead, and drop `EXPOSE 22`.";
    EMPTY_PASSWORD = "CUS-PRIV-013", "EmptyPassword", Privilege, High,
        "Account with an empty password",
        "Lock the account (`passwd -l NAME`, a `!` or `*` in the password field) or remove it.";
    DUPLICATE_UID = "CUS-PRIV-014", "DuplicateUid", Privilege, Medium,
        "Several accounts share a UID",
        "Give every account in /etc/passwd its own UID.";
    DUPLICATE_GID = "CUS-PRIV-015", "DuplicateGid", Privilege, Low,
        "Several groups share a GID",
        "Give every group in /etc/group its own GID.";
    SECRET_IN_ENV = "CUS-SEC-001", "SecretInEnv", Secrets, High,
        "Secret in an environment variable",
        "Pass secrets at run time (orchestrator secrets, mounted files), never with `ENV`; rotate the exposed value.";
    SECRET_IN_HISTORY = "CUS-SEC-002", "SecretInHistory", Secrets, High,
        "Secret in the build history",
        "Use BuildKit secret mounts (`RUN --mount=type=secret`) instead of `ARG`/`ENV`/command lines; rotate the exposed value.";
    SECRET_FILE = "CUS-SEC-003", "SecretFile", Secrets, High,
        "File that usually holds secrets",
        "Keep credential files out of the build context (`.dockerignore`); deleting them in a later layer does not remove them from the image.";
    SECRET_IN_FILE = "CUS-SEC-004", "SecretInFile", Secrets, High,
        "Secret in file contents",
        "Remove the secret from the layer that added it (rebuild; a later `rm` does not help) and rotate it.";
    WASTED_FILE = "CUS-LAYER-001", "WastedFile", Layers, Low,
        "File stored more than once across layers",
        "Change or delete files in the same `RUN` step that creates them, and `chmod`/`chown` with `COPY --chmod/--chown`.";
    LOW_EFFICIENCY = "CUS-LAYER-002", "LowEfficiency", Layers, Low,
        "Low layer efficiency",
        "Combine steps that create and later change or delete the same files; use multi-stage builds.";
    TOO_MANY_LAYERS = "CUS-LAYER-003", "TooManyLayers", Layers, Info,
        "Many layers",
        "Merge related `RUN`/`COPY` steps, or squash the final stage.";
    TINY_LAYER = "CUS-LAYER-004", "TinyLayer", Layers, Info,
        "Layer with almost no content",
        "Fold the step into a neighbouring one, or set metadata (ownership, mode) in `COPY` itself.";
    PACKAGE_CACHE = "CUS-LAYER-005", "PackageCache", Layers, Low,
        "Package manager cache or VCS data left in the image",
        "Clean caches in the same `RUN` step (`rm -rf /var/lib/apt/lists/*`, `apk add --no-cache`, `pip --no-cache-dir`) and keep `.git` out with `.dockerignore`.";
    OLD_IMAGE = "CUS-FRESH-001", "OldImage", Freshness, Medium,
        "Image is old",
        "Rebuild regularly so base-image and package updates reach the image.";
    EOL_OS = "CUS-FRESH-002", "EndOfLifeOs", Freshness, High,
        "Operating system release is end-of-life",
        "Move to a supported release of the distribution; an end-of-life release gets no security fixes.";
    SYSTEM_VOLUME = "CUS-FRESH-003", "SystemVolume", Freshness, High,
        "VOLUME over a kernel or device filesystem",
        "Remove `VOLUME` for /dev, /proc and /sys; the runtime mounts these.";
    ONBUILD_TRIGGER = "CUS-FRESH-004", "OnbuildTrigger", Freshness, Low,
        "ONBUILD trigger",
        "Remove `ONBUILD`; hidden build steps make downstream builds hard to review.";
    NO_HEALTHCHECK = "CUS-FRESH-005", "NoHealthcheck", Freshness, Info,
        "No HEALTHCHECK",
        "Add a `HEALTHCHECK` (or rely on orchestrator probes, and ignore this).";
    ADD_FROM_URL = "CUS-FRESH-006", "AddFromUrl", Freshness, Medium,
        "ADD from a remote URL",
        "Download with a checksum check (`ADD --checksum=sha256:…` or `curl` + `sha256sum -c`) so the build is reproducible.";
    DISALLOWED_BASE_REGISTRY = "CUS-BASE-001", "DisallowedBaseRegistry", Base, High,
        "Base image from a registry not on the allow-list",
        "Build from a base image in an allowed registry, or add the registry to the allow-list.";
    OUTDATED_BASE = "CUS-BASE-002", "OutdatedBase", Base, Medium,
        "Base image tag now points at a newer image",
        "Rebuild on the current base image to pick up its fixes.";
}

/// Looks a rule up by id.
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.id == id)
}

/// Masks a secret value: at most its first four characters, then `****`.
pub fn mask(value: &str) -> String {
    let keep: String = value
        .chars()
        .take(4.min(value.chars().count() / 2))
        .collect();
    format!("{keep}****")
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// A finding's facts before they become text. One variant per way a rule can fire.
#[derive(Debug, Clone, PartialEq)]
pub enum Diag {
    /// The container runs as root.
    RunsAsRoot {
        /// `config.User` as written (empty: unset).
        user: String,
        /// Why it counts as root (`uid 0`, `the root account`, `the default user is root`).
        reason: String,
    },
    /// `USER` is a name, not a numeric uid.
    NonNumericUser {
        /// `config.User` as written.
        user: String,
    },
    /// A file has the setuid or setgid bit.
    Setid {
        /// Path of the file, without a leading `/`.
        path: String,
        /// Its mode bits.
        mode: u32,
    },
    /// A file carries file capabilities (`security.capability`).
    FileCapability {
        /// Path of the file, without a leading `/`.
        path: String,
    },
    /// A file, or a directory without the sticky bit, is writable by everyone.
    WorldWritable {
        /// Path, without a leading `/`.
        path: String,
        /// Whether it is a directory.
        dir: bool,
        /// Its mode bits.
        mode: u32,
    },
    /// The runtime user can write the entrypoint.
    EntrypointWritable {
        /// Path of the entrypoint, without a leading `/`.
        path: String,
        /// What makes it writable (the file itself, or `its directory /…`).
        what: String,
        /// The runtime user.
        user: String,
    },
    /// Tools an attacker could use are installed (shells, package managers, compilers, …).
    ToolPresent {
        /// Which of the tool rules fired.
        rule: &'static RuleInfo,
        /// The tools found.
        tools: Vec<String>,
    },
    /// An SSH port is exposed.
    SshPort {
        /// The port as declared (`22/tcp`).
        port: String,
    },
    /// An account has an empty password.
    EmptyPassword {
        /// The account's name.
        account: String,
        /// The file it is in (`etc/shadow`).
        file: &'static str,
    },
    /// Several accounts or groups share one numeric id.
    DuplicateId {
        /// Which of the duplicate-id rules fired (users or groups).
        rule: &'static RuleInfo,
        /// The file they are in (`etc/passwd`).
        file: &'static str,
        /// The shared id.
        id: u64,
        /// The names sharing it.
        names: Vec<String>,
    },
    /// An environment variable holds a secret.
    SecretInEnv {
        /// The variable's name.
        key: String,
        /// The value, masked.
        masked: String,
        /// The detector that matched.
        detector: String,
    },
    /// The build history holds a secret.
    SecretInHistory {
        /// Where in the history (`created_by of step 3`).
        what: String,
        /// The value, masked.
        masked: String,
        /// The detector that matched.
        detector: String,
    },
    /// A file is itself a secret (a private key, a credentials file).
    SecretFile {
        /// Path of the file, without a leading `/`.
        path: String,
        /// What kind of secret it is.
        kind: String,
        /// `(added in, removed in)` layer indices when a later layer deleted it; it is still in the earlier layer.
        deleted: Option<(usize, usize)>,
    },
    /// A file's contents hold a secret.
    SecretInFile {
        /// Path of the file, without a leading `/`.
        path: String,
        /// The detector that matched.
        detector: String,
        /// The match, masked.
        masked: String,
        /// 1-based line of the match.
        line: u64,
        /// `(added in, removed in)` layer indices when a later layer deleted the file.
        deleted: Option<(usize, usize)>,
    },
    /// A file's bytes are wasted: a later layer replaced or removed it.
    WastedFile {
        /// Path of the file, without a leading `/`.
        path: String,
        /// Size in bytes of the wasted copy.
        bytes: u64,
        /// How it was superseded (replaced, removed, re-added).
        kind: String,
        /// Layer holding the wasted copy.
        layer: usize,
        /// Layer that superseded it.
        superseded_in: usize,
    },
    /// The image's layer efficiency is below the minimum.
    LowEfficiency {
        /// `1 − wasted/total`, 0 to 1.
        efficiency: f64,
        /// Wasted bytes.
        wasted: u64,
        /// Bytes of every regular file in every layer.
        total: u64,
        /// The minimum efficiency, 0 to 1.
        minimum: f64,
    },
    /// The image has more layers than the maximum.
    TooManyLayers {
        /// Its number of layers.
        count: usize,
        /// The maximum.
        maximum: usize,
    },
    /// A layer adds almost nothing.
    TinyLayer {
        /// The layer's index.
        index: usize,
        /// Bytes of file data it adds.
        bytes: u64,
        /// Entries it holds.
        entries: usize,
    },
    /// A package manager's cache was left in the image.
    PackageCache {
        /// The cache directory, without a leading `/`.
        path: String,
        /// Which cache (`apt package lists`).
        what: String,
        /// Files in it.
        files: usize,
        /// Their bytes.
        bytes: u64,
    },
    /// The image is older than the maximum age.
    OldImage {
        /// When it was built, RFC 3339 as written.
        created: String,
        /// Its age in whole days.
        days: i64,
        /// The maximum age in days.
        maximum: u64,
    },
    /// The OS release has reached end of life.
    EolOs {
        /// The release (`Debian 10`).
        os: String,
        /// Its end-of-life date.
        eol: String,
        /// Where the date comes from.
        source: String,
    },
    /// A `VOLUME` shadows a filesystem the runtime provides (`/proc`, `/sys`, `/dev`).
    SystemVolume {
        /// The volume path.
        volume: String,
    },
    /// The image has an `ONBUILD` trigger.
    Onbuild {
        /// The trigger as written.
        trigger: String,
    },
    /// The image defines no `HEALTHCHECK`.
    NoHealthcheck,
    /// A layer was added from a URL without a checksum.
    AddFromUrl {
        /// The URL.
        url: String,
    },
    /// The base image comes from a registry not in the allow-list.
    DisallowedRegistry {
        /// The base image's name.
        base: String,
        /// Its registry.
        registry: String,
        /// The registries allowed.
        allowed: Vec<String>,
    },
    /// The base image's tag now points at another digest than at build time.
    OutdatedBase {
        /// The base image's name.
        base: String,
        /// The digest recorded at build time.
        recorded: String,
        /// The digest the registry gives now.
        current: String,
    },
}

impl Diag {
    /// The rule this diagnostic belongs to.
    pub fn rule(&self) -> &'static RuleInfo {
        match self {
            Diag::RunsAsRoot { .. } => &RUNS_AS_ROOT,
            Diag::NonNumericUser { .. } => &NON_NUMERIC_USER,
            Diag::Setid { .. } => &SETUID_FILE,
            Diag::FileCapability { .. } => &FILE_CAPABILITY,
            Diag::WorldWritable { .. } => &WORLD_WRITABLE,
            Diag::EntrypointWritable { .. } => &ENTRYPOINT_WRITABLE,
            Diag::ToolPresent { rule, .. } | Diag::DuplicateId { rule, .. } => rule,
            Diag::SshPort { .. } => &SSH_PORT_EXPOSED,
            Diag::EmptyPassword { .. } => &EMPTY_PASSWORD,
            Diag::SecretInEnv { .. } => &SECRET_IN_ENV,
            Diag::SecretInHistory { .. } => &SECRET_IN_HISTORY,
            Diag::SecretFile { .. } => &SECRET_FILE,
            Diag::SecretInFile { .. } => &SECRET_IN_FILE,
            Diag::WastedFile { .. } => &WASTED_FILE,
            Diag::LowEfficiency { .. } => &LOW_EFFICIENCY,
            Diag::TooManyLayers { .. } => &TOO_MANY_LAYERS,
            Diag::TinyLayer { .. } => &TINY_LAYER,
            Diag::PackageCache { .. } => &PACKAGE_CACHE,
            Diag::OldImage { .. } => &OLD_IMAGE,
            Diag::EolOs { .. } => &EOL_OS,
            Diag::SystemVolume { .. } => &SYSTEM_VOLUME,
            Diag::Onbuild { .. } => &ONBUILD_TRIGGER,
            Diag::NoHealthcheck => &NO_HEALTHCHECK,
            Diag::AddFromUrl { .. } => &ADD_FROM_URL,
            Diag::DisallowedRegistry { .. } => &DISALLOWED_BASE_REGISTRY,
            Diag::OutdatedBase { .. } => &OUTDATED_BASE,
        }
    }

    /// The finding's message: what was found, with its evidence. Secret values are masked.
    pub fn message(&self) -> String {
        fn deleted_note(d: &Option<(usize, usize)>) -> String {
            match d {
                Some((added, removed)) => format!(
                    "; added in layer {added} and removed in layer {removed}, but still readable from layer {added}"
                ),
                None => String::new(),
            }
        }
        match self {
            Diag::RunsAsRoot { user, reason } => {
                if user.is_empty() {
                    format!("No USER is set, so the container runs as root ({reason})")
                } else {
                    format!("USER {user:?} runs as root ({reason})")
                }
            }
            Diag::NonNumericUser { user } => format!(
                "USER {user:?} is a name; Kubernetes runAsNonRoot cannot verify that it is not root"
            ),
            Diag::Setid { path, mode } => {
                let bits = match (mode & 0o4000 != 0, mode & 0o2000 != 0) {
                    (true, true) => "setuid and setgid",
                    (true, false) => "setuid",
                    _ => "setgid",
                };
                format!("/{path} is {bits} (mode {:04o})", mode & 0o7777)
            }
            Diag::FileCapability { path } => {
                format!("/{path} has file capabilities (security.capability xattr)")
            }
            Diag::WorldWritable { path, dir, mode } => format!(
                "/{path} is a world-writable {}{} (mode {:04o})",
                if *dir { "directory" } else { "file" },
                if *dir { " without the sticky bit" } else { "" },
                mode & 0o7777
            ),
            Diag::EntrypointWritable { path, what, user } => {
                format!("The entrypoint /{path} is writable by the runtime user {user:?} ({what})")
            }
            Diag::ToolPresent { rule, tools } => {
                format!("{}: {}", rule.title, tools.join(", "))
            }
            Diag::SshPort { port } => format!("The image exposes {port} (SSH)"),
            Diag::EmptyPassword { account, file } => {
                format!("Account {account:?} has an empty password in /{file}")
            }
            Diag::DuplicateId {
                file, id, names, ..
            } => format!("{} share id {id} in /{file}", names.join(", ")),
            Diag::SecretInEnv {
                key,
                masked,
                detector,
            } => format!("Env {key} holds a secret ({detector}): {masked}"),
            Diag::SecretInHistory {
                what,
                masked,
                detector,
            } => format!("The build history has a secret in {what} ({detector}): {masked}"),
            Diag::SecretFile {
                path,
                kind,
                deleted,
            } => format!("/{path} is {kind}{}", deleted_note(deleted)),
            Diag::SecretInFile {
                path,
                detector,
                masked,
                line,
                deleted,
            } => format!(
                "/{path}:{line} holds a secret ({detector}): {masked}{}",
                deleted_note(deleted)
            ),
            Diag::WastedFile {
                path,
                bytes,
                kind,
                layer,
                superseded_in,
            } => format!(
                "/{path} ({}) from layer {layer} is {kind} in layer {superseded_in}; its bytes stay in layer {layer}",
                human_bytes(*bytes)
            ),
            Diag::LowEfficiency {
                efficiency,
                wasted,
                total,
                minimum,
            } => format!(
                "Layer efficiency is {:.1}% (minimum {:.1}%): {} of {} is wasted",
                efficiency * 100.0,
                minimum * 100.0,
                human_bytes(*wasted),
                human_bytes(*total)
            ),
            Diag::TooManyLayers { count, maximum } => {
                format!("The image has {count} layers (more than {maximum})")
            }
            Diag::TinyLayer {
                index,
                bytes,
                entries,
            } => format!(
                "Layer {index} adds only {} of file data in {entries} entries",
                human_bytes(*bytes)
            ),
            Diag::PackageCache {
                path,
                what,
                files,
                bytes,
            } => format!(
                "/{path} holds {what}: {files} files, {}",
                human_bytes(*bytes)
            ),
            Diag::OldImage {
                created,
                days,
                maximum,
            } => format!("The image was built {days} days ago ({created}); the limit is {maximum} days"),
            Diag::EolOs { os, eol, source } => {
                format!("{os} reached end of life on {eol} (source: {source})")
            }
            Diag::SystemVolume { volume } => {
                format!("VOLUME {volume} shadows a filesystem the runtime provides")
            }
            Diag::Onbuild { trigger } => format!("ONBUILD {trigger}"),
            Diag::NoHealthcheck => "The image defines no HEALTHCHECK".to_string(),
            Diag::AddFromUrl { url } => format!("A layer was added from {url} without a checksum"),
            Diag::DisallowedRegistry {
                base,
                registry,
                allowed,
            } => format!(
                "Base image {base} comes from {registry}, which is not allowed (allowed: {})",
                allowed.join(", ")
            ),
            Diag::OutdatedBase {
                base,
                recorded,
                current,
            } => format!(
                "Base image {base} was {recorded} at build time and is now {current}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        for r in RULES {
            let prefix = match r.family {
                Family::Privilege => "CUS-PRIV-",
                Family::Secrets => "CUS-SEC-",
                Family::Layers => "CUS-LAYER-",
                Family::Freshness => "CUS-FRESH-",
                Family::Base => "CUS-BASE-",
            };
            assert!(r.id.starts_with(prefix), "{}", r.id);
        }
    }

    #[test]
    fn mask_keeps_at_most_four_characters() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIA****");
        assert_eq!(mask("abc"), "a****");
        assert_eq!(mask(""), "****");
        assert_eq!(mask("ééééééééé"), "éééé****");
    }
}
