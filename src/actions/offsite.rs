//! The off-site use-cases behind the buttons that the page and the JSON API share
//! (super-admin only): set up a target, send now, run the drill, turn a target on or off,
//! remove it. Both call these, so both answer the same way.

use crate::auth::permission::SuperAdmin;
use crate::fields::FieldErrors;
use crate::offsite::settings::TargetForm;
use crate::offsite::state::Drill;
use crate::offsite::{KeyOutcome, NewTarget, Offsite, OffsiteError};

/// A button on a target's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetAction {
    SendNow,
    /// The drill in the background (the page: its result shows on the card).
    StartDrill,
    Enabled(bool),
    Remove,
}

/// How a button's work went, for what the page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Done,
    /// "Send now" on a target that already holds every backup it should (and is not failing).
    NothingNew,
}

impl TargetAction {
    /// What the page says once it was done.
    pub fn done_message(self, name: &str, done: Done) -> String {
        match self {
            TargetAction::SendNow if done == Done::NothingNew => {
                format!("Nothing new to send: {name} already has every backup that belongs there.")
            }
            TargetAction::SendNow => {
                format!("Sending to {name} now: the copies appear on its card when they are done.")
            }
            TargetAction::StartDrill => format!(
                "The restore drill on {name} has started; its result shows on the card and in Recent activity."
            ),
            TargetAction::Enabled(true) => format!("{name} is on again."),
            TargetAction::Enabled(false) => {
                format!("{name} is turned off: nothing is sent to it until it is turned on.")
            }
            TargetAction::Remove => {
                format!("{name} was removed from Backroom. The copies on it were left as they are.")
            }
        }
    }
}

/// Runs `action` on the target named `name`.
pub fn run(
    offsite: &Offsite,
    boss: &SuperAdmin,
    name: &str,
    action: TargetAction,
) -> Result<Done, OffsiteError> {
    let who = boss.username();
    let target = offsite.target(name)?;
    match action {
        TargetAction::SendNow => {
            // Asked before the target's list is dropped to be read again.
            let up_to_date = offsite.status().targets.iter().any(|t| {
                t.name == name && t.pending == Some(0) && t.progress.failing_since.is_none()
            });
            target.send_now()?;
            return Ok(if up_to_date {
                Done::NothingNew
            } else {
                Done::Done
            });
        }
        TargetAction::StartDrill => target.drill_in_background(),
        TargetAction::Enabled(on) => target.set_enabled(on, who),
        TargetAction::Remove => target.remove(who),
    }?;
    Ok(Done::Done)
}

/// The drill now, waiting for its result (the API and the command line).
pub fn drill_now(offsite: &Offsite, _boss: &SuperAdmin, name: &str) -> Result<Drill, OffsiteError> {
    offsite.target(name)?.drill_now()
}

/// How setting up a target ended.
pub enum Setup {
    Added {
        name: String,
        outcome: KeyOutcome,
    },
    /// What to correct (the fields, or "target" when the target itself did not answer right);
    /// nothing was saved.
    Refused(FieldErrors),
}

/// Sets up a target from the form: checks the fields, proves the target works, saves it.
pub fn add_target(
    offsite: &Offsite,
    boss: &SuperAdmin,
    form: &TargetForm,
) -> Result<Setup, OffsiteError> {
    let (target, credentials) = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(Setup::Refused(errors)),
    };
    let name = target.name.clone();
    let kit = Some(form.kit.clone()).filter(|k| !k.trim().is_empty());
    let create_folder = form.create_folder;
    let added = offsite.add_target(
        NewTarget {
            target,
            credentials,
            kit,
            create_folder,
        },
        boss.username(),
    );
    match added {
        Ok(outcome) => Ok(Setup::Added { name, outcome }),
        Err(OffsiteError::Invalid(errors)) => Ok(Setup::Refused(errors)),
        Err(e @ (OffsiteError::Store(_) | OffsiteError::Key(_))) => {
            Ok(Setup::Refused(FieldErrors::one(
                "target",
                format!(
                    "The target was not saved: {}",
                    crate::error_chain::chain(&e)
                ),
            )))
        }
        Err(e) => Err(e),
    }
}

/// The emergency kit's text (super-admin only: it opens every copy).
pub fn kit_text(
    offsite: &Offsite,
    _boss: &SuperAdmin,
    address: &str,
) -> Result<String, OffsiteError> {
    offsite.kit_text(address)
}

/// The printed kit's facts (super-admin only, like the text).
pub fn printed_kit(
    offsite: &Offsite,
    _boss: &SuperAdmin,
) -> Result<crate::offsite::kit::PrintedKit, OffsiteError> {
    offsite.printed_kit()
}

/// A change to the key or the kit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChange {
    /// The person says the kit is saved away from this computer.
    ConfirmKit,
    /// A new key for new copies (the kit then holds every key).
    RotateKey,
}

/// Makes a change to the key or the kit (super-admin only).
pub fn change_key(
    offsite: &Offsite,
    boss: &SuperAdmin,
    change: KeyChange,
) -> Result<(), OffsiteError> {
    match change {
        KeyChange::ConfirmKit => offsite.confirm_kit(boss.username()),
        KeyChange::RotateKey => offsite.rotate_key(boss.username()),
    }
}
