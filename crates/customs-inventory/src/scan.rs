//! The image scan: streams every layer once, hands each interesting file to its extractor
//! while the bytes go by, caches each layer's results by diff-id, then keeps only what the
//! merged filesystem still shows and attributes every package to the layer that introduced it.
//!
//! What extraction would put at a path is what is read: a path written twice in one layer
//! counts once, as its last copy; a package database that is a symlink (or sits under a
//! symlinked directory) or a hardlink is read from the file it resolves to in the merged
//! filesystem. A package database that is there but cannot be read (a NUL byte, a size over
//! the limit) is reported in [`Inventory::damaged`] as well as a warning, so callers can fail
//! closed instead of passing an image whose packages they never saw.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};

use customs_image::summary::{self, LayerSummary};
use customs_image::tar::EntryKind;
use customs_image::{
    observe_entry, walk_layer_observed, EntryMeta, EntryObserver, FileSystem, Image, ImageError,
    LayerCache,
};
use serde::{Deserialize, Serialize};

use crate::{
    apk, copyright, dotnet, dotnet_pe, dpkg, golang, java, json, npm, os, php, pnpm, python, rpm,
    ruby, rust, rust_audit, yarn,
};
use crate::{Ecosystem, Inventory, OsInfo, Package, Purl, Warning};

/// Bump when any extractor's output changes, so cached layer results are not reused.
pub const INVENTORY_VERSION: u32 = 3;
/// Largest single file handed to an extractor.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// The per-layer analysis cache; `None` reads every layer.
    pub cache: Option<LayerCache>,
}

/// The inventory and the filesystem it was read from (audit and reports reuse both).
pub struct ScanResult {
    /// Every package, with the layer that introduced it.
    pub inventory: Inventory,
    /// The merged filesystem view of the image.
    pub fs: FileSystem,
    /// One summary per layer, in order.
    pub layers: Vec<LayerSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OsRelease,
    DpkgStatus,
    DpkgStatusD,
    DpkgList,
    Copyright,
    Apk,
    Rpm,
    Python,
    Npm,
    Yarn,
    Pnpm,
    Ruby,
    Php,
    CargoLock,
    CrateSource,
    DotnetDeps,
    DotnetPe,
    Java,
    Executable,
}

/// The extractor for an entry. Without `os`, OS identification and package databases are
/// not read (a project checkout).
fn classify(e: &EntryMeta, os: bool) -> Option<Kind> {
    let kind = classify_any(e)?;
    let os_kind = matches!(
        kind,
        Kind::OsRelease
            | Kind::DpkgStatus
            | Kind::DpkgStatusD
            | Kind::DpkgList
            | Kind::Copyright
            | Kind::Apk
            | Kind::Rpm
    );
    (os || !os_kind).then_some(kind)
}

fn classify_any(e: &EntryMeta) -> Option<Kind> {
    if !e.is_file() {
        return None;
    }
    let p = e.path.as_str();
    if os::OS_FILES.contains(&p) {
        return Some(Kind::OsRelease);
    }
    if p == "var/lib/dpkg/status" {
        return Some(Kind::DpkgStatus);
    }
    if let Some(rest) = p.strip_prefix("var/lib/dpkg/status.d/") {
        return (!rest.contains('/') && !rest.ends_with(".md5sums")).then_some(Kind::DpkgStatusD);
    }
    if p.starts_with("var/lib/dpkg/info/") && p.ends_with(".list") {
        return Some(Kind::DpkgList);
    }
    if copyright::matches(p) {
        return Some(Kind::Copyright);
    }
    if apk::matches(p) {
        return Some(Kind::Apk);
    }
    if rpm::matches(p) {
        return Some(Kind::Rpm);
    }
    if python::matches(p) {
        return Some(Kind::Python);
    }
    if npm::matches(p) {
        return Some(Kind::Npm);
    }
    if yarn::matches(p) {
        return Some(Kind::Yarn);
    }
    if pnpm::matches(p) {
        return Some(Kind::Pnpm);
    }
    if ruby::matches(p) {
        return Some(Kind::Ruby);
    }
    if php::matches(p) {
        return Some(Kind::Php);
    }
    if rust::matches(p) {
        return Some(Kind::CargoLock);
    }
    if rust::registry_manifest_matches(p) {
        return Some(Kind::CrateSource);
    }
    if dotnet::matches(p) {
        return Some(Kind::DotnetDeps);
    }
    if java::matches(p) {
        return Some(Kind::Java);
    }
    if dotnet_pe::matches(p) {
        return Some(Kind::DotnetPe);
    }
    if e.mode & 0o111 != 0 && e.size >= 64 {
        return Some(Kind::Executable);
    }
    None
}

/// What one file of one layer gave.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FileResult {
    path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    packages: Vec<Package>,
    /// Files the OS packages of this database own (for de-duplication).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    owned: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warning: Option<String>,
    /// An OS package database that is present but could not be read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    damaged: bool,
    /// Licences a Debian copyright file declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<String>,
    /// Licences a crate's registry source declares, as `(name, version, licences)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crate_license: Option<(String, String, Vec<String>)>,
    /// Raw bytes, kept only for OS identification files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    raw: Vec<u8>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LayerResults {
    files: Vec<FileResult>,
}

fn read_capped(r: &mut dyn Read, size: u64) -> std::io::Result<Option<Vec<u8>>> {
    if size > MAX_FILE_BYTES {
        return Ok(None);
    }
    let mut buf = Vec::with_capacity(size as usize);
    r.take(MAX_FILE_BYTES).read_to_end(&mut buf)?;
    Ok(Some(buf))
}

fn analyse(kind: Kind, e: &EntryMeta, r: &mut dyn Read) -> std::io::Result<Option<FileResult>> {
    let path = e.path.as_str();
    let mut out = FileResult {
        path: path.to_string(),
        ..Default::default()
    };
    if kind == Kind::Executable {
        let mut head = [0u8; 4];
        let mut n = 0;
        while n < 4 {
            let k = r.read(&mut head[n..])?;
            if k == 0 {
                break;
            }
            n += k;
        }
        if !golang::is_candidate(&head[..n]) {
            return Ok(None);
        }
        if e.size > MAX_FILE_BYTES {
            out.warning = Some(format!("{} bytes: too large to inspect", e.size));
            return Ok(Some(out));
        }
        // Executables can be hundreds of megabytes: spooled to an unlinked temporary file and
        // mapped, so only the pages the readers touch (headers, the build-info and
        // `.dep-v0` sections, what their pointers name) are ever in memory.
        let mut spool = tempfile::tempfile()?;
        spool.write_all(&head[..n])?;
        let copied = std::io::copy(&mut r.take(MAX_FILE_BYTES), &mut spool)? + n as u64;
        if copied == 0 {
            return Ok(None);
        }
        // SAFETY: the file is unlinked and only this process holds it; nothing writes it
        // while mapped.
        let map = unsafe { memmap2::Mmap::map(&spool)? };
        let data: &[u8] = &map;
        match golang::parse(path, data) {
            Ok(p) => out.packages.extend(p),
            Err(err) => out.warning = Some(err.to_string()),
        }
        match rust_audit::parse(path, data) {
            Ok(p) => out.packages.extend(p),
            Err(err) => out.warning = Some(err.to_string()),
        }
        if out.packages.is_empty() && out.warning.is_none() {
            return Ok(None);
        }
        return Ok(Some(out));
    }
    if matches!(kind, Kind::Npm | Kind::Php | Kind::DotnetDeps) && e.size > json::MAX_JSON_BYTES {
        // Refused before a byte is read: a JSON manifest this large is built to exhaust.
        out.warning = Some(format!(
            "{} bytes: larger than the {}-byte JSON limit, skipped",
            e.size,
            json::MAX_JSON_BYTES
        ));
        return Ok(Some(out));
    }
    if kind == Kind::Copyright && e.size > copyright::MAX_COPYRIGHT_BYTES {
        out.warning = Some(format!(
            "{} bytes: larger than the {}-byte copyright limit, skipped",
            e.size,
            copyright::MAX_COPYRIGHT_BYTES
        ));
        return Ok(Some(out));
    }
    let Some(data) = read_capped(r, e.size)? else {
        out.warning = Some(format!(
            "{} bytes: larger than the {MAX_FILE_BYTES}-byte limit, skipped",
            e.size
        ));
        out.damaged = is_database(kind);
        return Ok(Some(out));
    };
    let result = match kind {
        Kind::OsRelease => {
            out.raw = data;
            return Ok(Some(out));
        }
        Kind::DpkgStatus => dpkg::parse_status(&data),
        Kind::DpkgStatusD => dpkg::parse_status_d(&[(path.to_string(), data)]),
        Kind::DpkgList => {
            out.owned = dpkg::parse_file_list(&data);
            return Ok(Some(out));
        }
        Kind::Copyright => {
            out.licenses = copyright::parse(&data);
            return Ok((!out.licenses.is_empty()).then_some(out));
        }
        Kind::CrateSource => {
            out.crate_license = rust::registry_manifest_license(&data);
            return Ok(out.crate_license.is_some().then_some(out));
        }
        Kind::Apk => apk::parse_installed(&data),
        Kind::Rpm => rpm::parse_database(path, &data),
        Kind::Python => python::parse(path, &data),
        Kind::Npm => npm::parse(path, &data),
        Kind::Yarn => yarn::parse(path, &data),
        Kind::Pnpm => pnpm::parse(path, &data),
        Kind::Ruby => ruby::parse(path, &data),
        Kind::Php => php::parse(path, &data),
        Kind::CargoLock => rust::parse(path, &data),
        Kind::DotnetDeps => dotnet::parse(path, &data),
        Kind::DotnetPe => dotnet_pe::parse(path, &data),
        Kind::Java => java::parse(path, &data),
        Kind::Executable => unreachable!("handled above"),
    };
    match result {
        Ok(mut pkgs) => {
            for p in &mut pkgs {
                out.owned.append(&mut p.files);
            }
            if pkgs.is_empty() && out.owned.is_empty() {
                return Ok(None);
            }
            out.packages = pkgs;
        }
        Err(err) => {
            out.warning = Some(err.to_string());
            out.damaged = is_database(kind);
        }
    }
    Ok(Some(out))
}

/// The package databases whose damage fails a scan closed: dpkg's and apk's.
fn is_database(kind: Kind) -> bool {
    matches!(kind, Kind::DpkgStatus | Kind::DpkgStatusD | Kind::Apk)
}

/// The fixed paths of the OS package databases, with their extractor.
fn database_paths() -> Vec<(String, Kind)> {
    let mut out = vec![("var/lib/dpkg/status".to_string(), Kind::DpkgStatus)];
    out.extend(apk::PATHS.iter().map(|p| (p.to_string(), Kind::Apk)));
    out.extend(rpm::database_paths().into_iter().map(|p| (p, Kind::Rpm)));
    out
}

/// Reads the package databases that are links: for each database path that resolves (through
/// symlinks in any component, then hardlinks) to another regular file of the merged
/// filesystem, that file is read, from the layer that holds its visible copy, as the database,
/// and its result is added to that layer's results under the file's own path.
fn read_linked_databases(
    image: &Image,
    fs: &FileSystem,
    per_layer: &mut [LayerResults],
) -> Result<(), ImageError> {
    let dbs = database_paths();
    // layer -> (file holding the data, database path, extractor)
    let mut wanted: BTreeMap<usize, Vec<(String, String, Kind)>> = BTreeMap::new();
    for (db, kind) in &dbs {
        let Some(real) = fs.resolve(db) else {
            continue;
        };
        let Some(data) = fs.data_path(&real) else {
            continue;
        };
        if data == db || dbs.iter().any(|(p, k)| p == data && k == kind) {
            continue; // not a link, or one to a database read under its own name
        }
        let Some(node) = fs.get(data).filter(|n| n.kind == EntryKind::File) else {
            continue;
        };
        wanted
            .entry(node.layer)
            .or_default()
            .push((data.to_string(), db.clone(), *kind));
    }
    for (layer, items) in wanted {
        let mut found: Vec<FileResult> = Vec::new();
        summary::stream_layer(image, layer, |e, r| {
            let Some((data, db, kind)) = items.iter().find(|(d, _, _)| *d == e.path) else {
                return Ok(());
            };
            // Written twice in the layer: the last copy is what extraction leaves.
            found.retain(|f| f.path != *data);
            if !e.is_file() {
                return Ok(());
            }
            let as_db = EntryMeta {
                path: db.clone(),
                ..e.clone()
            };
            if let Some(mut fr) = analyse(*kind, &as_db, r)? {
                fr.path = data.clone();
                for p in &mut fr.packages {
                    if p.locations.is_empty() {
                        p.locations.push(format!("/{db}"));
                    }
                }
                if let Some(w) = &mut fr.warning {
                    *w = format!("read as /{db}: {w}");
                }
                found.push(fr);
            }
            Ok(())
        })?;
        per_layer[layer].files.extend(found);
    }
    Ok(())
}

fn encode(r: &LayerResults) -> Vec<u8> {
    zstd::encode_all(&serde_json::to_vec(r).expect("results serialise")[..], 3)
        .expect("in-memory zstd")
}

fn decode(b: &[u8]) -> Option<LayerResults> {
    serde_json::from_slice(&zstd::decode_all(b).ok()?).ok()
}

/// Scans every layer of `image` and builds its inventory.
pub fn scan_image(image: &Image, opts: &ScanOptions) -> Result<ScanResult, ImageError> {
    scan_image_observed(image, opts, None)
}

/// As [`scan_image`], and in the same walk every entry of every layer, with its bytes, goes by
/// `observer` (audit's collector rides along this way, so `customs check` reads each layer
/// once). A layer whose inventory comes from the cache is still streamed, once, for the
/// observer.
pub fn scan_image_observed(
    image: &Image,
    opts: &ScanOptions,
    mut observer: Option<&mut dyn EntryObserver>,
) -> Result<ScanResult, ImageError> {
    // A directory's synthetic layer is named by its path, not its content: never cached.
    let cache = opts.cache.as_ref().filter(|_| image.cacheable());
    let os = image.reads_os_packages();
    let mut fs = FileSystem::new();
    let mut summaries = Vec::with_capacity(image.layers.len());
    let mut per_layer: Vec<LayerResults> = Vec::with_capacity(image.layers.len());
    for layer in &image.layers {
        let key = LayerCache::key("inventory", INVENTORY_VERSION, &layer.diff_id);
        let cached = cache.and_then(|c| {
            let results = decode(&c.get(&key)?)?;
            let s = summary::cached_summary(c, &layer.diff_id)?;
            Some((s, results))
        });
        let (s, results) = match cached {
            Some(hit) => {
                if let Some(o) = observer.as_deref_mut() {
                    walk_layer_observed(image, layer.index, o)?;
                }
                hit
            }
            None => {
                let mut results = LayerResults::default();
                // Path -> its result in this layer; a later entry for the path replaces it.
                let mut last: HashMap<String, usize> = HashMap::new();
                let s = summary::stream_layer(image, layer.index, |e, r| {
                    if let Some(i) = last.remove(&e.path) {
                        results.files[i].path.clear();
                    }
                    observe_entry(observer.as_deref_mut(), layer.index, e, r, |r| {
                        if let Some(kind) = classify(e, os) {
                            if let Some(fr) = analyse(kind, e, r)? {
                                last.insert(e.path.clone(), results.files.len());
                                results.files.push(fr);
                            }
                        }
                        Ok(())
                    })
                })?;
                results.files.retain(|f| !f.path.is_empty());
                if let Some(o) = observer.as_deref_mut() {
                    o.layer_done(layer.index, &s);
                }
                if let Some(c) = cache {
                    summary::cache_summary(c, &layer.diff_id, &s);
                    let _ = c.put(&key, &encode(&results));
                }
                (s, results)
            }
        };
        fs.apply_layer(&s.entries);
        summaries.push(s);
        per_layer.push(results);
    }
    if os {
        read_linked_databases(image, &fs, &mut per_layer)?;
    }
    let mut inventory = assemble(image, &fs, &per_layer);
    let layer = image.layers.first().map(|l| l.diff_id.to_string());
    for (path, message) in image.source_warnings() {
        inventory.warnings.push(Warning {
            path: format!("/{path}"),
            layer: layer.clone(),
            message,
        });
    }
    Ok(ScanResult {
        inventory,
        fs,
        layers: summaries,
    })
}

fn assemble(image: &Image, fs: &FileSystem, per_layer: &[LayerResults]) -> Inventory {
    let diff_id = |i: usize| image.layers[i].diff_id.to_string();
    // Index every file result by (path, layer).
    let mut by_path: HashMap<&str, Vec<(usize, &FileResult)>> = HashMap::new();
    for (i, lr) in per_layer.iter().enumerate() {
        for fr in &lr.files {
            by_path.entry(fr.path.as_str()).or_default().push((i, fr));
        }
    }
    let visible = |path: &str, layer: usize| fs.get(path).is_some_and(|n| n.layer == layer);

    // The OS, through symlinks (Debian's /etc/os-release points into /usr/lib).
    let read = |p: &str| -> Option<Vec<u8>> {
        let real = fs.resolve(p)?;
        let node = fs.get(&real)?;
        by_path
            .get(real.as_str())?
            .iter()
            .find(|(l, _)| *l == node.layer)
            .map(|(_, fr)| fr.raw.clone())
    };
    let os_info: Option<OsInfo> = os::detect(&read);

    let mut inv = Inventory {
        os: os_info.clone(),
        ..Default::default()
    };
    let mut os_packages: Vec<Package> = Vec::new();
    let mut lang_packages: Vec<Package> = Vec::new();
    let mut owned: HashSet<String> = HashSet::new();
    let mut paths: Vec<&&str> = by_path.keys().collect();
    paths.sort();
    for path in paths {
        let versions = &by_path[*path];
        for (layer, fr) in versions.iter() {
            if !visible(path, *layer) {
                continue;
            }
            if let Some(w) = &fr.warning {
                let warning = Warning {
                    path: format!("/{path}"),
                    layer: Some(diff_id(*layer)),
                    message: w.clone(),
                };
                if fr.damaged {
                    inv.damaged.push(warning.clone());
                }
                inv.warnings.push(warning);
            }
            owned.extend(fr.owned.iter().cloned());
            for p in &fr.packages {
                let mut p = p.clone();
                // The earliest layer whose copy of this file already listed the same package.
                let introduced = versions
                    .iter()
                    .filter(|(l, other)| {
                        *l <= *layer
                            && other
                                .packages
                                .iter()
                                .any(|o| o.name == p.name && o.version == p.version)
                    })
                    .map(|(l, _)| *l)
                    .min()
                    .unwrap_or(*layer);
                p.layer = Some(diff_id(introduced));
                if p.locations.is_empty() {
                    p.locations.push(format!("/{path}"));
                }
                let is_os =
                    matches!(p.found_by.as_str(), "dpkg" | "apk" | "rpm") || p.ecosystem.is_os();
                if is_os {
                    p.purl = match p.ecosystem {
                        Ecosystem::Debian => dpkg::purl_for(&p, os_info.as_ref()),
                        Ecosystem::Alpine => apk::purl_for(&p, os_info.as_ref()),
                        _ => rpm::purl_for(&p, os_info.as_ref()),
                    };
                    os_packages.push(p);
                } else {
                    lang_packages.push(p);
                }
            }
        }
    }
    // A language package whose metadata an OS package installed is that OS package.
    for p in lang_packages {
        let owned_by_os = p.locations.iter().any(|l| owned.contains(l.as_str()));
        if owned_by_os {
            inv.suppressed.push(p);
        } else {
            os_packages.push(p);
        }
    }
    add_licenses(fs, &by_path, &mut os_packages);
    inv.packages = dedupe(os_packages);
    inv.suppressed.sort();
    inv
}

/// Declared licences from files beside the package database: a Debian package's
/// `/usr/share/doc/NAME/copyright` (through symlinked doc directories, as Debian links
/// `libstdc++6` to `gcc-12-base`), and a crate's `Cargo.toml` in a Cargo registry source.
/// Only the visible copy of each file counts; a package that already has licences keeps them.
fn add_licenses(
    fs: &FileSystem,
    by_path: &HashMap<&str, Vec<(usize, &FileResult)>>,
    packages: &mut [Package],
) {
    let visible_result = |path: &str| -> Option<&FileResult> {
        let node = fs.get(path)?;
        by_path
            .get(path)?
            .iter()
            .find(|(l, _)| *l == node.layer)
            .map(|(_, fr)| *fr)
    };
    let mut crates: HashMap<(&str, &str), &[String]> = HashMap::new();
    for (path, versions) in by_path {
        for (layer, fr) in versions {
            if let Some((name, version, licenses)) = &fr.crate_license {
                if fs.get(path).is_some_and(|n| n.layer == *layer) {
                    crates.insert((name.as_str(), version.as_str()), licenses.as_slice());
                }
            }
        }
    }
    for p in packages.iter_mut().filter(|p| p.licenses.is_empty()) {
        match p.ecosystem {
            Ecosystem::Debian => {
                let Some(real) = fs.resolve(&copyright::path_for(&p.name)) else {
                    continue;
                };
                let Some(data) = fs.data_path(&real) else {
                    continue;
                };
                if let Some(fr) = visible_result(data) {
                    p.licenses = fr.licenses.clone();
                }
            }
            Ecosystem::CratesIo => {
                if let Some(l) = crates.get(&(p.name.as_str(), p.version.as_str())) {
                    p.licenses = l.to_vec();
                }
            }
            _ => {}
        }
    }
}

/// One package per (ecosystem, name, version, purl, root), with every location it was seen at and
/// the lowest introducing layer.
fn dedupe(pkgs: Vec<Package>) -> Vec<Package> {
    // A root project is never merged into an installed package of the same name and version:
    // its `private` flag must not stop the installed one from being matched.
    type Key = (Ecosystem, String, String, Option<Purl>, bool);
    let mut map: BTreeMap<Key, Package> = BTreeMap::new();
    for p in pkgs {
        let key = (
            p.ecosystem.clone(),
            p.name.clone(),
            p.version.clone(),
            p.purl.clone(),
            p.root,
        );
        match map.get_mut(&key) {
            Some(existing) => {
                // A lockfile's root entry and the package.json beside it are one project.
                existing.private |= p.private;
                for l in p.locations {
                    if !existing.locations.contains(&l) {
                        existing.locations.push(l);
                    }
                }
                existing.locations.sort();
                for l in p.licenses {
                    if !existing.licenses.contains(&l) {
                        existing.licenses.push(l);
                    }
                }
            }
            None => {
                map.insert(key, p);
            }
        }
    }
    map.into_values().collect()
}
