//! XEP-0077 In-Band Registration, announced here: a logged-in account
//! changes its password or removes itself with it, and newcomers register
//! with an invitation (`registration`). Both are answered by
//! `net::register`, because key derivation and account deletion wait.

use super::Feature;
use crate::xmpp::ns;

pub const FEATURE: Feature = Feature { name: "register", spec: "XEP-0077 2.4", disco: &[ns::REGISTER], account: &[], iq: &[] };
