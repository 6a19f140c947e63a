//! How each area's errors become an [`AppError`]: what a person can act on is shown as a
//! message with its status; anything unclassified is a failure of the program (logged with
//! its chain, a plain page for the person).

use super::error::AppError;
use crate::actions::ActionError;
use crate::auth::AuthError;
use crate::backup::BackupError;
use crate::business::BusinessError;
use crate::db::DbError;
use crate::error_chain::chain;
use crate::offsite::OffsiteError;
use crate::offsite::store::StoreError;
use crate::records::RecordsError;

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Closed => AppError::Unavailable(chain(&e)),
            other => AppError::internal(other),
        }
    }
}

impl From<BackupError> for AppError {
    fn from(e: BackupError) -> Self {
        match &e {
            BackupError::NotFound(_) => AppError::NotFound,
            BackupError::Busy { .. }
            | BackupError::BusyElsewhere { .. }
            | BackupError::InUse(_) => AppError::Conflict(chain(&e)),
            BackupError::NewestCannotBeDeleted
            | BackupError::Kept(_)
            | BackupError::StartupCannotBeKept
            | BackupError::NoRecord(_)
            | BackupError::VerifyFailed { .. }
            | BackupError::Foreign { .. }
            | BackupError::NoGoodBackup { .. } => AppError::Conflict(chain(&e)),
            BackupError::InsufficientSpace { .. } => AppError::Unavailable(chain(&e)),
            BackupError::Refused(_) => AppError::BadRequest(chain(&e)),
            BackupError::TooLarge { .. } => AppError::TooLarge(chain(&e)),
            // Outcomes the engine words for people (nothing lost, what to do): shown.
            BackupError::Db(
                DbError::Closed | DbError::InUseElsewhere | DbError::ConnectionsStillOpen(_),
            )
            | BackupError::Cancelled
            | BackupError::Integrity(_)
            | BackupError::RestoreFailed { .. }
            | BackupError::RestoreFailedNotReopened { .. }
            | BackupError::RolledBack { .. }
            | BackupError::PutBackFailed { .. }
            | BackupError::WriteFailed { .. }
            | BackupError::PrepareWriteFailed { .. }
            | BackupError::Accounts(_)
            | BackupError::ServerRunning => AppError::Unavailable(chain(&e)),
            // Anything else is a failure of the program: a 500, logged with its chain.
            BackupError::Io { .. }
            | BackupError::Db(_)
            | BackupError::Sqlite(_)
            | BackupError::Copy(_) => AppError::internal(e),
        }
    }
}

/// What went wrong looking inside a backup or bringing records back.
impl From<RecordsError> for AppError {
    fn from(e: RecordsError) -> Self {
        match e {
            RecordsError::Backup(b) => b.into(),
            RecordsError::Business(b) => b.into(),
            RecordsError::Db(db) => db.into(),
            RecordsError::Unfit(_)
            | RecordsError::Open { .. }
            | RecordsError::Foreign { .. }
            | RecordsError::SkuTaken { .. }
            | RecordsError::ChangedMeanwhile { .. } => AppError::Conflict(chain(&e)),
            RecordsError::SalesStayInTheBackup
            | RecordsError::NothingChosen
            | RecordsError::NotDifferent { .. }
            | RecordsError::Invalid { .. } => AppError::BadRequest(chain(&e)),
            RecordsError::Copy { .. } | RecordsError::Sqlite(_) => AppError::internal(e),
        }
    }
}

/// Off-site errors the person can act on are messages; the rest are failures.
impl From<OffsiteError> for AppError {
    fn from(e: OffsiteError) -> Self {
        match e {
            OffsiteError::NoTarget(_) | OffsiteError::NoCopy(_) => AppError::NotFound,
            OffsiteError::Invalid(errors) => AppError::BadRequest(errors.joined()),
            OffsiteError::Busy => AppError::Conflict(chain(&e)),
            OffsiteError::Backup(b) => b.into(),
            // A copy or a kit that is not right: the person gave something else.
            OffsiteError::NeedKit
            | OffsiteError::Key(_)
            | OffsiteError::Pipeline(_)
            | OffsiteError::Mismatch { .. }
            | OffsiteError::Damaged { .. }
            | OffsiteError::Foreign { .. } => AppError::BadRequest(chain(&e)),
            // A target that cannot be used right now (unreachable, refused, turned off).
            OffsiteError::Store(StoreError::Settings(_)) => AppError::BadRequest(chain(&e)),
            OffsiteError::Store(_) | OffsiteError::Cancelled => AppError::Unavailable(chain(&e)),
            OffsiteError::NoKey
            | OffsiteError::Disabled(_)
            | OffsiteError::NoRecord(_)
            | OffsiteError::Changed(_)
            | OffsiteError::SeveralInstallations { .. }
            | OffsiteError::NotOurs { .. } => AppError::Conflict(chain(&e)),
            OffsiteError::State(_)
            | OffsiteError::Lock(_)
            | OffsiteError::Temp(_)
            | OffsiteError::Secrets(_)
            | OffsiteError::Settings(_)
            | OffsiteError::Installation(_)
            | OffsiteError::ReadBackup { .. } => AppError::internal(e),
        }
    }
}

impl From<crate::auth::permission::Denied> for AppError {
    fn from(e: crate::auth::permission::Denied) -> Self {
        AppError::Forbidden(chain(&e))
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Db(db) => db.into(),
            AuthError::Hash(_) | AuthError::Store(_) => AppError::internal(e),
            AuthError::NotFound => AppError::NotFound,
            AuthError::LockedOut { .. } => AppError::TooManyRequests(chain(&e)),
            AuthError::InvalidCredentials => AppError::Unauthorized,
            AuthError::Invalid(errors) => AppError::BadRequest(errors.joined()),
            AuthError::UsernameTaken(_)
            | AuthError::InvalidUsername(_)
            | AuthError::WeakPassword(_)
            | AuthError::LastSuperAdmin => AppError::BadRequest(chain(&e)),
        }
    }
}

impl From<BusinessError> for AppError {
    fn from(e: BusinessError) -> Self {
        match e {
            BusinessError::Db(db) => db.into(),
            BusinessError::NotFound => AppError::NotFound,
            e @ (BusinessError::Export(_) | BusinessError::Row(_)) => AppError::internal(e),
            e @ (BusinessError::Invalid(_)
            | BusinessError::InsufficientStock { .. }
            | BusinessError::Archived(_)
            | BusinessError::EmptySale
            | BusinessError::AlreadyVoided
            | BusinessError::NegativeStock { .. }
            | BusinessError::Overflow) => AppError::BadRequest(chain(&e)),
        }
    }
}

impl From<ActionError> for AppError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Invalid(message) => AppError::BadRequest(message),
            ActionError::TooSoon(message) => AppError::TooManyRequests(message),
            ActionError::NotAllowed(message) => AppError::Forbidden(message),
            ActionError::Conflict(message) => AppError::Conflict(message),
            ActionError::NoSuchTable => AppError::NotFound,
            ActionError::Denied(e) => e.into(),
            ActionError::Backup(e) => e.into(),
            ActionError::Offsite(e) => e.into(),
            ActionError::Records(e) => e.into(),
            ActionError::Db(e) => e.into(),
            ActionError::Auth(e) => e.into(),
            ActionError::Sessions(e) => e.into(),
            ActionError::SaveSettings(e) => AppError::internal(e),
        }
    }
}

impl From<crate::auth::store::StoreError> for AppError {
    fn from(e: crate::auth::store::StoreError) -> Self {
        AppError::internal(e)
    }
}
