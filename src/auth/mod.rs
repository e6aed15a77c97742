//! Who a client is and what it may do. Every connection has a [`Session`] (the listener it
//! came in on, its security protocol, its principal, its SASL progress); the connection's
//! dispatch asks the [`gate`] whether a request may run before any handler sees it, and
//! handlers ask [`Authorizer::authorize`] per resource (a topic, a group...). TLS is the
//! server's (`server::tls`); here are the SASL mechanisms and each connection's exchange
//! ([`sasl`]), the durable SCRAM credentials ([`credentials`]) and the ACLs with their
//! authorizer and store ([`acl`]). Without `authorizer.class.name` the authorizer allows
//! everything ([`AllowAll`], Kafka without an authorizer).

pub mod acl;
mod authorizer;
pub mod credentials;
pub mod sasl;
mod session;

pub use authorizer::{operations_bitfield, AclOperation, AllowAll, Authorizer, ResourceType, CLUSTER_NAME};
pub use session::{gate, Admission, KafkaPrincipal, SaslState, SecurityProtocol, Session};
