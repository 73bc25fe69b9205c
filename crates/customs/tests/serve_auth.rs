//! `customs serve` with users: TLS from a generated CA, htpasswd (bcrypt) users, the built-in
//! token server (Docker token flow, ES256 JWTs, challenges with scope), per-repository
//! permissions allowing and denying, anonymous pull only where configured, an immutable tag
//! refused, failed logins rate-limited, and no secret in any log line. skopeo drives the
//! token flow as a real client.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use customs_testkit::registry::skopeo_status;
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

mod common;
use common::Serve;
const ALICE_PW: &str = "alice-Secret-7f3e";
const BOB_PW: &str = "bob-Secret-91ac";

impl Serve {
    /// Starts it with TLS from a generated CA, the users alice and bob, and their access.
    fn tls() -> Serve {
        Serve::tls_with("")
    }

    /// Starts it with `extra` appended to the config.
    fn tls_with(extra: &str) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = customs_testkit::registry::tls_certificates();
        let p = dir.path();
        std::fs::write(p.join("ca.crt"), ca).unwrap();
        std::fs::write(p.join("server.crt"), cert).unwrap();
        std::fs::write(p.join("server.key"), key).unwrap();
        let htpasswd = format!(
            "alice:{}\nbob:{}\n",
            bcrypt::hash(ALICE_PW, 5).unwrap(),
            bcrypt::hash(BOB_PW, 5).unwrap()
        );
        std::fs::write(p.join("users.htpasswd"), htpasswd).unwrap();
        let config = format!(
            r#"[tls]
cert = "{dir}/server.crt"
key = "{dir}/server.key"
[auth]
htpasswd = "{dir}/users.htpasswd"
anonymous_pull = ["public/*"]
[[auth.access]]
repository = "team/*"
users = ["alice"]
actions = ["pull", "push"]
[[auth.access]]
repository = "team/*"
users = ["bob"]
actions = ["pull"]
[[auth.access]]
repository = "public/*"
users = ["alice"]
actions = ["admin"]
[[immutable_tags]]
repository = "*"
tag = "v*"
{extra}
"#,
            dir = p.display()
        );
        Serve::start(dir, "-vv", &config)
    }

    /// The generated CA that signed the server's certificate.
    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn client(&self) -> Client {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(self.ca()).unwrap()).unwrap();
        Client::builder()
            .add_root_certificate(ca)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }
}

fn token(serve: &Serve, creds: Option<(&str, &str)>, scope: &str) -> String {
    let mut req = serve
        .client()
        .get(serve.url(&format!("/token?service=customs&scope={scope}")));
    if let Some((u, p)) = creds {
        req = req.basic_auth(u, Some(p));
    }
    let r = req.send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().unwrap();
    v["token"].as_str().unwrap().to_string()
}

fn digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn push_blob(serve: &Serve, repo: &str, bearer: &str, data: &[u8]) -> Response {
    serve
        .client()
        .post(serve.url(&format!(
            "/v2/{repo}/blobs/uploads/?digest={}",
            digest(data)
        )))
        .bearer_auth(bearer)
        .body(data.to_vec())
        .send()
        .unwrap()
}

fn error_code(r: Response) -> String {
    let v: serde_json::Value = r.json().unwrap();
    v["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn tls_tokens_permissions_anonymous_pull_immutable_tags_and_rate_limit() {
    let serve = Serve::tls();
    // Plain clients that do not trust the generated CA cannot talk to it.
    assert!(Client::new().get(serve.url("/v2/")).send().is_err());
    let http = serve.client();

    // The base endpoint challenges with the token realm.
    let r = http.get(serve.url("/v2/")).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = r.headers()["WWW-Authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        challenge,
        format!(
            "Bearer realm=\"https://{}/token\",service=\"customs\"",
            serve.addr
        )
    );
    // A repository request's challenge names the scope.
    let r = http
        .get(serve.url("/v2/team/app/tags/list"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["WWW-Authenticate"]
        .to_str()
        .unwrap()
        .ends_with(",scope=\"repository:team/app:pull\""));

    // alice's token is an ES256 JWT granting what she asked for and may have.
    let alice = token(
        &serve,
        Some(("alice", ALICE_PW)),
        "repository:team/app:pull,push,delete",
    );
    let parts: Vec<&str> = alice.split('.').collect();
    assert_eq!(parts.len(), 3);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    let claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        claims["access"][0]["actions"],
        serde_json::json!(["pull", "push"])
    );
    assert_eq!(
        b64.decode(parts[2]).unwrap().len(),
        64,
        "an ES256 signature is r||s"
    );
    assert_eq!(
        push_blob(&serve, "team/app", &alice, b"alice's layer").status(),
        StatusCode::CREATED
    );
    // A token altered by one byte is refused.
    let mut forged = claims.clone();
    forged["access"][0]["name"] = "team/other".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(forged.to_string()),
        parts[2]
    );
    assert_eq!(
        push_blob(&serve, "team/other", &forged, b"x").status(),
        StatusCode::UNAUTHORIZED
    );
    // Her token does not reach another repository, and she may not delete.
    assert_eq!(
        push_blob(&serve, "other/app", &alice, b"x").status(),
        StatusCode::FORBIDDEN
    );
    let d = digest(b"alice's layer");
    let r = http
        .delete(serve.url(&format!("/v2/team/app/blobs/{d}")))
        .bearer_auth(&alice)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(r), "DENIED");

    // bob may pull team/* but not push.
    let bob = token(
        &serve,
        Some(("bob", BOB_PW)),
        "repository:team/app:pull,push",
    );
    let r = http
        .get(serve.url(&format!("/v2/team/app/blobs/{d}")))
        .bearer_auth(&bob)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().unwrap().as_ref(), b"alice's layer");
    assert_eq!(
        push_blob(&serve, "team/app", &bob, b"bob's layer").status(),
        StatusCode::FORBIDDEN
    );
    // Basic credentials work directly too.
    let r = http
        .get(serve.url(&format!("/v2/team/app/blobs/{d}")))
        .basic_auth("bob", Some(BOB_PW))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Anonymous: pull public/* only.
    let public = token(
        &serve,
        Some(("alice", ALICE_PW)),
        "repository:public/lib:pull,push",
    );
    assert_eq!(
        push_blob(&serve, "public/lib", &public, b"public layer").status(),
        StatusCode::CREATED
    );
    let anon = token(&serve, None, "repository:public/lib:pull");
    let pd = digest(b"public layer");
    let r = http
        .get(serve.url(&format!("/v2/public/lib/blobs/{pd}")))
        .bearer_auth(&anon)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .get(serve.url(&format!("/v2/public/lib/blobs/{pd}")))
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "anonymous pull without any token"
    );
    let anon_team = token(&serve, None, "repository:team/app:pull");
    let r = http
        .get(serve.url(&format!("/v2/team/app/blobs/{d}")))
        .bearer_auth(&anon_team)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // An immutable tag cannot be moved; a mutable one can.
    let config = b"{\"os\":\"linux\"}";
    assert_eq!(
        push_blob(&serve, "team/app", &alice, config).status(),
        StatusCode::CREATED
    );
    let manifest = |layer: &[u8]| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": layer.len()}],
        }))
        .unwrap()
    };
    assert_eq!(
        push_blob(&serve, "team/app", &alice, b"second").status(),
        StatusCode::CREATED
    );
    let put = |tag: &str, body: &[u8]| {
        http.put(serve.url(&format!("/v2/team/app/manifests/{tag}")))
            .bearer_auth(&alice)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .body(body.to_vec())
            .send()
            .unwrap()
    };
    let (one, two) = (manifest(b"alice's layer"), manifest(b"second"));
    assert_eq!(put("v1.0", &one).status(), StatusCode::CREATED);
    assert_eq!(
        put("v1.0", &one).status(),
        StatusCode::CREATED,
        "same digest again is fine"
    );
    let r = put("v1.0", &two);
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: serde_json::Value = r.json().unwrap();
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("immutable"),
        "{v}"
    );
    assert_eq!(put("latest", &one).status(), StatusCode::CREATED);
    assert_eq!(put("latest", &two).status(), StatusCode::CREATED);

    // Failed logins are limited: after five wrong passwords even the right one waits.
    for _ in 0..5 {
        let r = http
            .get(serve.url("/v2/"))
            .basic_auth("bob", Some("wrong-guess-123"))
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = http
        .get(serve.url("/v2/"))
        .basic_auth("bob", Some(BOB_PW))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(r), "TOOMANYREQUESTS");

    // No secret in any log line, though every request above was logged.
    let log = serve.log();
    assert!(log.contains("GET /v2/team/app/blobs/"), "{log}");
    for secret in [
        ALICE_PW,
        BOB_PW,
        "wrong-guess-123",
        alice.as_str(),
        bob.as_str(),
        parts[2],
    ] {
        assert!(!log.contains(secret), "a secret is in the log:\n{log}");
    }
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("bob:{BOB_PW}"));
    assert!(!log.contains(&basic));
}

#[test]
fn skopeo_pushes_and_pulls_through_the_token_flow_over_tls() {
    let serve = Serve::tls();
    let certs = serve.dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(serve.ca(), certs.join("ca.crt")).unwrap();
    let src = format!("oci-archive:{}", shared("app-multi.oci.tar").display());
    let dest = format!("docker://{}/team/app:latest", serve.addr);
    let certdir = format!("--dest-cert-dir={}", certs.display());
    skopeo(&[
        "copy",
        "--quiet",
        "--preserve-digests",
        &certdir,
        &format!("--dest-creds=alice:{ALICE_PW}"),
        &src,
        &dest,
    ]);
    // bob may pull it; without credentials it is refused.
    let out = tempfile::tempdir().unwrap();
    let back = format!("oci:{}:latest", out.path().join("app").display());
    let srccert = format!("--src-cert-dir={}", certs.display());
    skopeo(&[
        "copy",
        "--quiet",
        &srccert,
        &format!("--src-creds=bob:{BOB_PW}"),
        &dest,
        &back,
    ]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("app/index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44"
    );
    let denied = skopeo_status(&["inspect", &srccert.replace("src-", ""), &dest]);
    assert!(
        !denied.0,
        "anonymous inspect of team/app must fail: {}",
        denied.1
    );
    let log = serve.log();
    assert!(!log.contains(ALICE_PW) && !log.contains(BOB_PW), "{log}");
}

const CI_TOKEN: &str = "ci-robot-token-5d1e0c";
const OLD_TOKEN: &str = "old-robot-token-77b2aa";

fn robots_config() -> String {
    let h = |t: &str| hex::encode(Sha256::digest(t.as_bytes()));
    format!(
        r#"[[auth.robots]]
name = "ci"
token_sha256 = "{}"
expires = "2099-01-01T00:00:00Z"
scopes = [{{ repository = "team/*", actions = ["pull", "push"] }}]
[[auth.robots]]
name = "old"
token_sha256 = "{}"
expires = "2001-01-01T00:00:00Z"
scopes = [{{ repository = "team/*", actions = ["pull"] }}]
"#,
        h(CI_TOKEN),
        h(OLD_TOKEN)
    )
}

fn token_status(serve: &Serve, creds: (&str, &str), scope: &str) -> StatusCode {
    serve
        .client()
        .get(serve.url(&format!("/token?service=customs&scope={scope}")))
        .basic_auth(creds.0, Some(creds.1))
        .send()
        .unwrap()
        .status()
}

fn claims(jwt: &str) -> serde_json::Value {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    serde_json::from_slice(&b64.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn get_blob(serve: &Serve, repo: &str, d: &str, auth: (&str, Option<&str>)) -> StatusCode {
    let req = serve
        .client()
        .get(serve.url(&format!("/v2/{repo}/blobs/{d}")));
    let req = match auth {
        (token, None) => req.bearer_auth(token),
        (user, Some(pw)) => req.basic_auth(user, Some(pw)),
    };
    req.send().unwrap().status()
}

#[test]
fn robot_accounts_are_scoped_expire_and_their_tokens_are_never_logged() {
    let serve = Serve::tls_with(&robots_config());
    let http = serve.client();
    let ci = ("robot$ci", CI_TOKEN);

    // The Docker token flow with a config-declared robot: only its scopes are granted.
    let jwt = token(&serve, Some(ci), "repository:team/app:pull,push,delete");
    let c = claims(&jwt);
    assert_eq!(c["sub"], "robot$ci");
    assert_eq!(
        c["access"][0]["actions"],
        serde_json::json!(["pull", "push"])
    );
    assert_eq!(
        push_blob(&serve, "team/app", &jwt, b"robot layer").status(),
        StatusCode::CREATED
    );
    let d = digest(b"robot layer");
    assert_eq!(
        get_blob(&serve, "team/app", &d, (&jwt, None)),
        StatusCode::OK
    );
    // Outside its scopes: nothing granted, push and pull denied, by token and by Basic.
    let other = token(&serve, Some(ci), "repository:other/app:pull,push");
    assert_eq!(
        claims(&other)["access"][0]["actions"],
        serde_json::json!([])
    );
    assert_eq!(
        push_blob(&serve, "other/app", &other, b"x").status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_blob(&serve, "team/app", &d, (ci.0, Some(ci.1))),
        StatusCode::OK
    );
    assert_eq!(
        get_blob(&serve, "other/app", &d, (ci.0, Some(ci.1))),
        StatusCode::FORBIDDEN
    );
    // Delete was never in its scopes.
    let r = http
        .delete(serve.url(&format!("/v2/team/app/blobs/{d}")))
        .basic_auth(ci.0, Some(ci.1))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // An expired robot cannot log in, though its token is right.
    let old = ("robot$old", OLD_TOKEN);
    assert_eq!(
        token_status(&serve, old, "repository:team/app:pull"),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_blob(&serve, "team/app", &d, (old.0, Some(old.1))),
        StatusCode::UNAUTHORIZED
    );

    // The admin API: alice holds admin on public/* only.
    let create = |creds: Option<(&str, &str)>, body: serde_json::Value| {
        let mut req = http.post(serve.url("/v2/_customs/robots")).json(&body);
        if let Some((u, p)) = creds {
            req = req.basic_auth(u, Some(p));
        }
        req.send().unwrap()
    };
    let deploy_body = serde_json::json!({"name": "deploy", "expires_in_secs": 4,
        "scopes": [{"repository": "public/*", "actions": ["pull", "push"]}]});
    assert_eq!(
        create(None, deploy_body.clone()).status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        create(Some(("bob", BOB_PW)), deploy_body.clone()).status(),
        StatusCode::FORBIDDEN,
        "bob is admin nowhere"
    );
    let team_body = serde_json::json!({"name": "t", "expires_in_secs": 60,
        "scopes": [{"repository": "team/*", "actions": ["pull"]}]});
    assert_eq!(
        create(Some(("alice", ALICE_PW)), team_body).status(),
        StatusCode::FORBIDDEN,
        "alice may push team/* but is no admin there"
    );
    let no_expiry = serde_json::json!({"name": "forever",
        "scopes": [{"repository": "public/*", "actions": ["pull"]}]});
    assert_eq!(
        create(Some(("alice", ALICE_PW)), no_expiry).status(),
        StatusCode::BAD_REQUEST
    );
    let started = Instant::now();
    let r = create(Some(("alice", ALICE_PW)), deploy_body.clone());
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: serde_json::Value = r.json().unwrap();
    assert_eq!(made["name"], "robot$deploy");
    assert_eq!(made["created_by"], "alice");
    let deploy_token = made["token"].as_str().unwrap().to_string();
    let expires = made["expires"].as_u64().unwrap();
    assert_eq!(
        create(Some(("alice", ALICE_PW)), deploy_body).status(),
        StatusCode::CONFLICT
    );
    // Only the token's hash is kept: the metadata store's files on disk (SQLite and its
    // write-ahead log) hold the hash and never the token.
    let mut saved = Vec::new();
    for f in ["meta.sqlite", "meta.sqlite-wal"] {
        if let Ok(b) = std::fs::read(serve.dir.path().join("data").join(f)) {
            saved.extend(b);
        }
    }
    let holds = |needle: &str| saved.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!holds(&deploy_token), "the robot token is stored");
    assert!(holds(&hex::encode(Sha256::digest(deploy_token.as_bytes()))));
    // The listing shows what alice administers, without tokens.
    let list: serde_json::Value = http
        .get(serve.url("/v2/_customs/robots"))
        .basic_auth("alice", Some(ALICE_PW))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let names: Vec<&str> = list["robots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["robot$deploy"]);
    assert!(!list.to_string().contains(&deploy_token));

    // The new robot works through the token flow, its token living no longer than it.
    let deploy = ("robot$deploy", deploy_token.as_str());
    let djwt = token(&serve, Some(deploy), "repository:public/lib:pull,push");
    assert!(claims(&djwt)["exp"].as_u64().unwrap() <= expires);
    assert_eq!(
        push_blob(&serve, "public/lib", &djwt, b"deployed").status(),
        StatusCode::CREATED
    );
    assert_eq!(
        push_blob(&serve, "team/app", &djwt, b"deployed").status(),
        StatusCode::FORBIDDEN
    );
    // Once it expires, its earlier token, Basic login and the token endpoint all refuse it.
    let left = Duration::from_secs(5).saturating_sub(started.elapsed());
    std::thread::sleep(left);
    assert_eq!(
        push_blob(&serve, "public/lib", &djwt, b"late").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        token_status(&serve, deploy, "repository:public/lib:push"),
        StatusCode::UNAUTHORIZED
    );

    // A removed robot is refused at once, its earlier token too.
    let r = create(
        Some(("alice", ALICE_PW)),
        serde_json::json!({"name": "tmp", "expires_in_secs": 600,
            "scopes": [{"repository": "public/*", "actions": ["push"]}]}),
    );
    assert_eq!(r.status(), StatusCode::CREATED);
    let tmp_token = r.json::<serde_json::Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let tjwt = token(
        &serve,
        Some(("robot$tmp", &tmp_token)),
        "repository:public/lib:push",
    );
    assert_eq!(
        push_blob(&serve, "public/lib", &tjwt, b"tmp 1").status(),
        StatusCode::CREATED
    );
    let r = http
        .delete(serve.url("/v2/_customs/robots/robot$tmp"))
        .basic_auth("alice", Some(ALICE_PW))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        push_blob(&serve, "public/lib", &tjwt, b"tmp 2").status(),
        StatusCode::UNAUTHORIZED
    );
    // Config-declared robots are not the API's to remove (and alice is no admin of team/*).
    let r = http
        .delete(serve.url("/v2/_customs/robots/robot$ci"))
        .basic_auth("alice", Some(ALICE_PW))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // skopeo, a real client, pushes with the robot through the token flow, and is refused
    // outside its scopes.
    let certs = serve.dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(serve.ca(), certs.join("ca.crt")).unwrap();
    let certdir = format!("--dest-cert-dir={}", certs.display());
    let creds = format!("--dest-creds=robot$ci:{CI_TOKEN}");
    let src = format!("oci-archive:{}", shared("app-multi.oci.tar").display());
    skopeo(&[
        "copy",
        "--quiet",
        &certdir,
        &creds,
        &src,
        &format!("docker://{}/team/robot:latest", serve.addr),
    ]);
    let (ok, text) = skopeo_status(&[
        "copy",
        "--quiet",
        &certdir,
        &creds,
        &src,
        &format!("docker://{}/other/robot:latest", serve.addr),
    ]);
    assert!(!ok, "a push outside the robot's scopes must fail: {text}");

    let log = serve.log();
    assert!(log.contains("robot robot$deploy created by alice"), "{log}");
    for secret in [
        CI_TOKEN,
        OLD_TOKEN,
        deploy_token.as_str(),
        tmp_token.as_str(),
        jwt.as_str(),
        djwt.as_str(),
        tjwt.as_str(),
    ] {
        assert!(
            !log.contains(secret),
            "a robot secret is in the log:\n{log}"
        );
    }
}

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/images")
        .join(name)
}

fn skopeo(args: &[&str]) {
    let (ok, text) = skopeo_status(args);
    assert!(ok, "skopeo {args:?}: {text}");
}
