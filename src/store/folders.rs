//! Folder names and the folder tree under `mail_dir`: create, delete,
//! rename, list; name validation so no path leaves `mail_dir`. STUB.
