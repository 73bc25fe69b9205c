//! Policy text is untrusted input: parsing arbitrary bytes gives a policy or an error.

use std::path::Path;

use proptest::prelude::*;

proptest! {
    #[test]
    fn parsing_arbitrary_text_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = customs_policy::Policy::parse(&text, "fuzz.toml", Path::new("."));
    }

    #[test]
    fn parsing_policy_like_text_never_panics(text in "(\\[(audit|vulnerabilities|registries|registries\\.base|signatures|attestations)\\]\n|[a-z_]{1,14} = (\"[A-Za-z0-9-]{0,12}\"|[0-9]{1,3}|true|\\[\\]|\\{ \"CUS-PRIV-00[0-9]\" = \"(off|on|high|x)\" \\})\n){0,8}") {
        let _ = customs_policy::Policy::parse(&text, "fuzz.toml", Path::new("."));
    }
}
