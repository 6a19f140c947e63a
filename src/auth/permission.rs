//! Who may do what, as values (lldap's way): a use-case that needs a super-admin takes a
//! [`SuperAdmin`], which only [`Actor::super_admin`] makes, so a use-case called without its
//! role check does not compile.

use super::Role;

/// Someone signed in, as the use-cases see them (no web types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

/// Proof that the actor is an admin or a super-admin.
#[derive(Debug, Clone)]
pub struct Admin(Actor);

/// Proof that the actor is a super-admin.
#[derive(Debug, Clone)]
pub struct SuperAdmin(Actor);

#[derive(Debug, thiserror::Error)]
#[error("This needs the {} role; you are {}.", .needed.label(), .has.label())]
pub struct Denied {
    pub needed: Role,
    pub has: Role,
}

impl Actor {
    fn at_least(&self, needed: Role) -> Result<(), Denied> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(Denied {
                needed,
                has: self.role,
            })
        }
    }

    pub fn admin(&self) -> Result<Admin, Denied> {
        self.at_least(Role::Admin)?;
        Ok(Admin(self.clone()))
    }

    pub fn super_admin(&self) -> Result<SuperAdmin, Denied> {
        self.at_least(Role::SuperAdmin)?;
        Ok(SuperAdmin(self.clone()))
    }
}

impl Admin {
    pub fn actor(&self) -> &Actor {
        &self.0
    }

    pub fn username(&self) -> &str {
        &self.0.username
    }
}

impl SuperAdmin {
    pub fn actor(&self) -> &Actor {
        &self.0
    }

    pub fn username(&self) -> &str {
        &self.0.username
    }

    /// A super-admin may do what an admin may.
    pub fn admin(&self) -> Admin {
        Admin(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            id: 1,
            username: "sam".into(),
            role,
        }
    }

    #[test]
    fn proofs_come_only_from_the_role() {
        assert!(actor(Role::Staff).admin().is_err());
        assert!(actor(Role::Admin).admin().is_ok());
        let denied = actor(Role::Admin).super_admin().unwrap_err();
        assert_eq!(
            denied.to_string(),
            format!(
                "This needs the {} role; you are {}.",
                Role::SuperAdmin.label(),
                Role::Admin.label()
            )
        );
        let boss = actor(Role::SuperAdmin).super_admin().unwrap();
        assert_eq!(boss.admin().username(), "sam");
    }
}
