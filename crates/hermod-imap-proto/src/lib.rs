//! Hermod's IMAP protocol core. It parses commands and encodes response pieces; it never
//! touches a socket, a store or a clock. The server (`hermod-imap`) owns all of that.

pub mod command;
pub mod encode;
pub mod frame;
pub mod mutf7;
pub mod parse;
mod seqset;

pub use command::*;
pub use parse::{ParseError, parse_command};
