//! argon2id password hashes with OWASP's parameters (19 MiB, 2 passes, 1 lane). Slow on
//! purpose: call these from a blocking thread, never on an async worker.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use super::AuthError;

const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const MAX_OUTPUT: usize = 64;

fn hasher() -> Result<Argon2<'static>, AuthError> {
    let params = Params::new(M_COST, T_COST, P_COST, None)
        .map_err(|e| AuthError::Hash(argon2::password_hash::Error::from(e)))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let hash = hasher()?
        .hash_password(password.as_bytes())
        .map_err(AuthError::Hash)?;
    Ok(hash.to_string())
}

/// True for an argon2id hash no costlier than the program's own. Anything else (a hash
/// brought in by a backup can name any cost, e.g. `t=30000`: minutes per login) is never
/// verified: the account needs a new password.
pub fn hash_is_usable(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| within_own_cost(&parsed))
}

/// What the owner is told (log, users page) about an account whose hash is not usable.
pub fn unusual_hash_note(username: &str) -> String {
    format!(
        "the password of {username} came from a backup with unusual settings; \
         set a new one with `backroom user passwd {username}`"
    )
}

fn within_own_cost(parsed: &PasswordHash) -> bool {
    if parsed.algorithm.as_str() != "argon2id" {
        return false;
    }
    let Ok(params) = Params::try_from(parsed) else {
        return false;
    };
    params.m_cost() <= M_COST
        && params.t_cost() <= T_COST
        && params.p_cost() <= P_COST
        && params.output_len().is_none_or(|n| n <= MAX_OUTPUT)
}

/// True when `password` matches `phc`. A malformed stored hash, or one costlier than the
/// program's own ([`hash_is_usable`]), never matches and is not worked on.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if !within_own_cost(&parsed) {
        return false;
    }
    let Ok(argon) = hasher() else { return false };
    argon.verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Spends the same time as a real verification, for user names that do not exist, so the
/// answer's timing does not tell which names are real.
pub fn dummy_verify(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY
        .get_or_init(|| hash_password("backroom-dummy-password-for-timing").unwrap_or_default());
    let _ = verify_password(password, phc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_and_uses_argon2id_owasp_parameters() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(phc, hash_password("correct horse").unwrap(), "salts differ");
    }

    #[test]
    fn hashes_costlier_than_our_own_are_unusable_and_never_match() {
        let ours = hash_password("correct horse").unwrap();
        assert!(hash_is_usable(&ours));
        for (from, to) in [
            ("t=2", "t=30000"),
            ("m=19456", "m=65536"),
            ("p=1", "p=16"),
            ("$argon2id$", "$argon2i$"),
        ] {
            let costly = ours.replacen(from, to, 1);
            assert!(!hash_is_usable(&costly), "{costly}");
            let started = std::time::Instant::now();
            assert!(!verify_password("correct horse", &costly), "{costly}");
            assert!(started.elapsed().as_secs() < 2, "{costly} was worked on");
        }
        // Cheaper parameters from an older build still verify.
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse")
        .unwrap()
        .to_string();
        assert!(hash_is_usable(&cheap));
        assert!(verify_password("correct horse", &cheap));
    }
}
