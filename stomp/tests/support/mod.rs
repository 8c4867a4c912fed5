//! Test support: a STOMP client, and a RabbitMQ node of the test's own.
#![allow(unreachable_pub, dead_code)]
pub mod client;
pub mod rabbitmq;
