//! `disconnect ID`: delete the stored credentials and tokens, keep the
//! activities, and say what only the user can do.

use host_demo::host::Host;

pub fn run(host: &Host, connection: &str) -> anyhow::Result<()> {
    let done = host.disconnect(connection)?;
    println!(
        "Disconnected {}: its {} stored value(s) (credentials, tokens) are deleted; imported activities are kept.",
        done.connection, done.secrets_deleted
    );
    if let Some(warning) = done.plugin_warning {
        println!("note: the plugin reported: {warning}");
    }
    println!(
        "Important: change your password at the service (for Garmin: Garmin Connect account settings). \
That is the only way to be sure that credentials stored before can no longer be used."
    );
    Ok(())
}
