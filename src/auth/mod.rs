//! Who a client is and what it may do. Every connection has a [`Session`] (the listener it
//! came in on, its security protocol, its principal, its SASL progress); the connection's
//! dispatch asks the [`gate`] whether a request may run before any handler sees it, and
//! handlers ask [`Authorizer::authorize`] per resource (a topic, a group...). Today every
//! listener is PLAINTEXT and the authorizer allows everything (Kafka without an authorizer
//! configured); TLS, SASL and ACLs plug in here. The SASL mechanisms ([`sasl`]) and the
//! durable SCRAM credentials ([`credentials`]) are here, not yet wired to a listener.

pub mod acl;
mod authorizer;
pub mod credentials;
pub mod sasl;
mod session;

pub use authorizer::{operations_bitfield, AclOperation, AllowAll, Authorizer, ResourceType};
pub use session::{gate, Admission, KafkaPrincipal, SaslState, SecurityProtocol, Session};
