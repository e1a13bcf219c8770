//! Password hashing: argon2id with the argon2 crate's recommended parameters.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};

/// Hashes a password into a PHC string (`$argon2id$...`).
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Checks a password against a stored PHC string; false for a damaged hash too.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// argon2id runs on a small fixed set of threads. Each check needs about 19 MiB for a
/// moment; on the general blocking pool a burst of logins would touch dozens of threads and
/// leave that much resident in each one's allocator arena (gigabytes after a burst). Here
/// the memory in use is bounded by the number of these threads, and logins queue for them.
fn hashers() -> &'static std::sync::mpsc::Sender<Job> {
    static POOL: std::sync::OnceLock<std::sync::mpsc::Sender<Job>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 4);
        for i in 0..threads {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
        }
        tx
    })
}

/// Runs password work (hashing, verifying) on the hashing threads.
pub async fn on_hashers<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(work());
    });
    hashers().send(job).ok()?;
    rx.await.ok()
}

/// Refuses passwords too weak to put on an internet-facing mail server.
pub fn check_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < 8 {
        return Err("the password is too short: use at least 8 characters".into());
    }
    if password.trim() != password {
        return Err("the password starts or ends with a space; remove it".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn argon2id_round_trip() {
        let h = super::hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong horse", &h));
        assert!(!super::verify("correct horse", "not a hash"));
        assert_ne!(super::hash("correct horse").unwrap(), h, "salts differ");
    }
}

#[cfg(test)]
mod pool_tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_checks_all_answer_correctly() {
        let h = super::hash("correct horse").unwrap();
        let mut tasks = Vec::new();
        for i in 0..12 {
            let h = h.clone();
            tasks.push(tokio::spawn(async move {
                let pw = if i % 2 == 0 {
                    "correct horse"
                } else {
                    "wrong horse"
                };
                super::on_hashers(move || super::verify(pw, &h)).await
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), Some(i % 2 == 0));
        }
    }
}
