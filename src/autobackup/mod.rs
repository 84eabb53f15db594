//! Scheduled backups: the server makes one daily at `backup_time` into
//! `backup_dir`, encrypted to the box's recovery key, off the executor
//! thread; keeps `backup_keep` of them; records what happened in the
//! database (`store::BackupState`) for the console and `xerra status`.
//! `plan` decides (pure); this file is the shell.

pub mod plan;
