//! Test support: a RabbitMQ node of the test's own.
#![allow(unreachable_pub)]
pub mod rabbitmq;
