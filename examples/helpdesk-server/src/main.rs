//! The standalone helpdesk server (filled by the server issue).

fn main() {}
