//! Reading untrusted JSON manifests (`package.json`, `package-lock.json`, `.deps.json`,
//! `composer.lock`, `installed.json`) into typed structs that name only the fields an
//! extractor uses, under a size cap.
//!
//! Everything else in the document is skipped as it is parsed, never built into a tree:
//! peak memory is the file's bytes plus the packages found, not the ~16× of a
//! `serde_json::Value`. A file over [`MAX_JSON_BYTES`] is refused before it is read
//! ([`ExtractError::Limit`]; the image scan turns it into a warning and skips the file).

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::ExtractError;

/// Largest JSON manifest read: 64 MiB, far above any real lockfile (the largest npm
/// lockfiles are a few MiB).
pub const MAX_JSON_BYTES: u64 = 64 << 20;

/// Parses `data` as `T`, refusing files over [`MAX_JSON_BYTES`].
pub(crate) fn from_slice_capped<T: DeserializeOwned>(
    format: &'static str,
    data: &[u8],
) -> Result<T, ExtractError> {
    if data.len() as u64 > MAX_JSON_BYTES {
        return Err(too_large(format, data.len() as u64));
    }
    serde_json::from_slice(data).map_err(|e| ExtractError::malformed(format, e.to_string()))
}

/// As [`from_slice_capped`] for documents whose top level must be an object (serde would
/// also accept a list for a struct).
pub(crate) fn object_capped<T: DeserializeOwned>(
    format: &'static str,
    data: &[u8],
) -> Result<T, ExtractError> {
    if data.len() as u64 > MAX_JSON_BYTES {
        return Err(too_large(format, data.len() as u64));
    }
    let first = data
        .iter()
        .position(|b| !b" \t\r\n".contains(b))
        .map(|i| data[i]);
    // A UTF-8 byte-order mark is not JSON either; serde_json refuses it too.
    if first != Some(b'{') {
        return Err(ExtractError::malformed(
            format,
            "top level is not an object",
        ));
    }
    serde_json::from_slice(data).map_err(|e| ExtractError::malformed(format, e.to_string()))
}

/// The error for a file of `size` bytes over the cap.
pub(crate) fn too_large(format: &'static str, size: u64) -> ExtractError {
    ExtractError::limit(
        format,
        format!("{size} bytes: larger than the {MAX_JSON_BYTES}-byte JSON limit"),
    )
}

/// A field that should be a string: any other JSON value (a number, an object, `null`)
/// reads as `None` instead of failing the whole file, and is skipped without being built.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Str(pub Option<String>);

impl Str {
    /// The string, when it is one and not empty.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Loose::<StrKind>::default()).map(Str)
    }
}

/// A field that should be a boolean, as [`Str`] for strings.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bool(pub Option<bool>);

impl<'de> Deserialize<'de> for Bool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Loose::<BoolKind>::default()).map(Bool)
    }
}

#[derive(Default)]
struct StrKind;
#[derive(Default)]
struct BoolKind;

/// A visitor that keeps the one kind of scalar it wants and drains anything else.
#[derive(Default)]
struct Loose<K>(std::marker::PhantomData<K>);

trait Wanted {
    type Out;
    fn from_str(_: &str) -> Option<Self::Out> {
        None
    }
    fn from_bool(_: bool) -> Option<Self::Out> {
        None
    }
}

impl Wanted for StrKind {
    type Out = String;
    fn from_str(s: &str) -> Option<String> {
        Some(s.to_string())
    }
}

impl Wanted for BoolKind {
    type Out = bool;
    fn from_bool(b: bool) -> Option<bool> {
        Some(b)
    }
}

impl<'de, K: Wanted> Visitor<'de> for Loose<K> {
    type Value = Option<K::Out>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(K::from_str(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(K::from_bool(v))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// A declared licence field as npm and Composer write it: a string, the old
/// `{ "type": "MIT" }` object, or a list of either. Anything else holds no licence.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Licenses(pub Vec<String>);

/// Most licence entries kept from one field.
const MAX_LICENSES: usize = 64;

impl<'de> Deserialize<'de> for Licenses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a licence string, object or list")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let v = v.trim();
                Ok(if v.is_empty() {
                    vec![]
                } else {
                    vec![v.to_string()]
                })
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(vec![])
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(vec![])
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(vec![])
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(vec![])
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(vec![])
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Licenses>()? {
                    for l in item.0 {
                        if out.len() < MAX_LICENSES {
                            out.push(l);
                        }
                    }
                }
                Ok(out)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Str>()? {
                    if key.get() == Some("type") {
                        let v: Str = map.next_value()?;
                        out.extend(v.get().map(|s| s.trim().to_string()));
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V).map(Licenses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[serde(default)]
        name: Str,
        #[serde(default)]
        private: Bool,
        #[serde(default)]
        license: Licenses,
    }

    #[test]
    fn wrong_types_read_as_absent() {
        let d: Doc = serde_json::from_str(
            r#"{"name":{"a":[1,2]},"private":"yes","license":[{"type":"MIT"},"ISC",7,{"x":1}],"other":[[[]]]}"#,
        )
        .unwrap();
        assert_eq!(d.name.get(), None);
        assert_eq!(d.private.0, None);
        assert_eq!(d.license.0, ["MIT", "ISC"]);
        let d: Doc = serde_json::from_str(r#"{"name":"a","private":true,"license":" "}"#).unwrap();
        assert_eq!((d.name.get(), d.private.0), (Some("a"), Some(true)));
        assert!(d.license.0.is_empty());
    }

    #[test]
    fn over_the_cap_is_a_limit_error_and_bad_json_is_malformed() {
        assert!(matches!(
            too_large("package.json", MAX_JSON_BYTES + 1),
            ExtractError::Limit { .. }
        ));
        let e = from_slice_capped::<Doc>("package.json", b"{\"name\":").unwrap_err();
        assert!(matches!(e, ExtractError::Malformed { .. }), "{e}");
    }
}
