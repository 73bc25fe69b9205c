//! A language package whose files an OS package installed is reported once, as the OS
//! package, and listed as suppressed so nothing silently disappears.

use customs_image::{Image, OpenOptions};
use customs_inventory::{scan_image, ScanOptions};
use customs_testkit::oci;

#[test]
fn python_package_installed_by_dpkg_is_reported_once_as_the_deb() {
    let status = "Package: python3-six\nStatus: install ok installed\nArchitecture: all\nSource: six\nVersion: 1.16.0-4\n\n";
    let list = "/.\n/usr\n/usr/lib/python3/dist-packages/six-1.16.0.dist-info\n/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA\n/usr/lib/python3/dist-packages/six.py\n";
    let metadata = "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n";
    let pip_installed = "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n";
    let layer = oci::tar(&[
        (
            "etc/os-release",
            b"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        ),
        ("var/lib/dpkg/status", status.as_bytes()),
        ("var/lib/dpkg/info/python3-six.list", list.as_bytes()),
        (
            "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
            metadata.as_bytes(),
        ),
        (
            "usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA",
            pip_installed.as_bytes(),
        ),
    ]);
    let layout = oci::Layout::new(&layer);
    let image = Image::open_str(&layout.target(), &OpenOptions::default()).unwrap();
    let inv = scan_image(&image, &ScanOptions::default())
        .unwrap()
        .inventory;
    let names: Vec<(&str, &str)> = inv
        .packages
        .iter()
        .map(|p| (p.ecosystem.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [("Debian", "python3-six"), ("PyPI", "requests")],
        "pip-installed requests stays; six is the deb"
    );
    assert_eq!(inv.suppressed.len(), 1);
    assert_eq!(
        (
            inv.suppressed[0].ecosystem.as_str(),
            inv.suppressed[0].name.as_str()
        ),
        ("PyPI", "six")
    );
}
