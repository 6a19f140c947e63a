//! Which copies this shop made. The age public key is in every manifest, so anyone who can
//! write to a target could encrypt a database of their own to it; a manifest therefore carries
//! a MAC (HMAC-SHA256 over every other field, the object's SHA-256 included) keyed from the
//! secret off-site key (the one in the emergency kit) with a label of its own. Only a holder of
//! the kit can make or check it; the object format is unchanged, so the kit's standard-tool
//! steps still work. A copy that fails the check is "not made by this shop": listed, never
//! restored, drilled, counted or removed.

use age::secrecy::ExposeSecret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::keys::Keyring;
use super::manifest::{Manifest, Trust};

/// Keeps the MAC key apart from anything else derived from the off-site key.
const LABEL: &[u8] = b"backroom off-site manifest MAC v1";

/// The MAC of `manifest` under one age identity, ready to finish or verify: its key is
/// HMAC-SHA256(identity secret, label). `None` never happens (HMAC takes any key length).
fn mac(identity: &age::x25519::Identity, manifest: &Manifest) -> Option<Hmac<Sha256>> {
    let mut mac = keyed(identity, LABEL)?;
    mac.update(&covered(manifest));
    Some(mac)
}

/// An HMAC-SHA256 keyed by HMAC-SHA256(identity secret, `label`): each use of the off-site key
/// (copies' manifests, continuous segments) has a label, so a MAC of one is never valid for
/// another.
pub(crate) fn keyed(identity: &age::x25519::Identity, label: &[u8]) -> Option<Hmac<Sha256>> {
    let secret = identity.to_string();
    let mut derive =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose_secret().as_bytes()).ok()?;
    derive.update(label);
    let key = derive.finalize().into_bytes();
    <Hmac<Sha256> as KeyInit>::new_from_slice(&key).ok()
}

/// What the MAC covers: the manifest as written, without its own `mac`.
fn covered(manifest: &Manifest) -> Vec<u8> {
    let mut bare = manifest.clone();
    bare.mac = None;
    serde_json::to_vec(&bare).unwrap_or_default()
}

/// The identity the manifest says it is encrypted to, when this keyring holds it.
fn identity_for<'a>(manifest: &Manifest, keys: &'a Keyring) -> Option<&'a age::x25519::Identity> {
    keys.keys()
        .iter()
        .find(|k| k.public() == manifest.recipient)
        .map(|k| &k.identity)
}

/// Signs a manifest with the key it is encrypted to (the keyring's current one when sending).
pub fn sign(manifest: &mut Manifest, keys: &Keyring) {
    let identity = identity_for(manifest, keys).unwrap_or(&keys.current().identity);
    manifest.mac = None;
    if let Some(mac) = mac(identity, manifest) {
        manifest.mac = Some(hex(&mac.finalize().into_bytes()));
        manifest.trust = Trust::Ours;
    }
}

/// Whether this shop made the copy; `keys` is `None` when this computer has no key (then
/// nothing can be shown to be ours).
pub fn check(manifest: &Manifest, keys: Option<&Keyring>) -> Trust {
    let Some(given) = manifest.mac.as_deref() else {
        return Trust::Unsigned;
    };
    let Some(identity) = keys.and_then(|k| identity_for(manifest, k)) else {
        return Trust::OtherKey;
    };
    let Some(given) = unhex(given) else {
        return Trust::Forged;
    };
    // Constant time: the comparison says nothing about how much of a guess was right.
    match mac(identity, manifest).map(|m| m.verify_slice(&given)) {
        Some(Ok(())) => Trust::Ours,
        _ => Trust::Forged,
    }
}

/// Among one installation's authenticated copies, a sequence number seen twice means a copy
/// was made again under another name from an old one (the number only grows): both are flagged.
pub fn flag_repeats(copies: &mut [Manifest]) {
    let key = |m: &Manifest| {
        (
            m.installation.as_ref().map(|i| i.id.clone()),
            m.sequence,
            m.recipient.clone(),
        )
    };
    let mut seen = std::collections::BTreeMap::new();
    for m in copies.iter().filter(|m| m.trust == Trust::Ours) {
        if m.sequence.is_some() {
            *seen.entry(key(m)).or_insert(0u32) += 1;
        }
    }
    for m in copies.iter_mut() {
        if m.trust == Trust::Ours && m.sequence.is_some() && seen.get(&key(m)) > Some(&1) {
            m.trust = Trust::OutOfOrder;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
