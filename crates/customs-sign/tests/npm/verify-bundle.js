// Verifies a Sigstore bundle written by customs with @sigstore/verify, trusting one public key
// (no transparency log or timestamps: customs' keyed bundles carry none). The key is looked up
// by the bundle's hint, which must be cosign's (padded base64 of the SHA-256 of the key's
// SPKI), computed here independently. Prints the in-toto
// statement's first subject digest on success; exits 1 with the error otherwise.
// Usage: node verify-bundle.js BUNDLE.json KEY.pub
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity } = require('@sigstore/verify');

const [bundlePath, keyPath] = process.argv.slice(2);
try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const key = crypto.createPublicKey(fs.readFileSync(keyPath));
  const spki = key.export({ type: 'spki', format: 'der' });
  const hint = crypto.createHash('sha256').update(spki).digest('base64');
  const trust = {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: (wanted) => {
      if (wanted !== hint) throw new Error(`no key with hint ${wanted} (have ${hint})`);
      return { publicKey: key, validFor: () => true };
    },
  };
  const verifier = new Verifier(trust, {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  verifier.verify(toSignedEntity(bundle));
  const statement = JSON.parse(
    Buffer.from(bundle.content.dsseEnvelope.payload).toString('utf8'),
  );
  console.log(`VERIFIED sha256:${statement.subject[0].digest.sha256}`);
} catch (e) {
  console.log(`REJECTED ${e && e.message ? e.message : e}`);
  process.exit(1);
}
