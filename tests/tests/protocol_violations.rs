//! Protocol violations over raw sockets (RFC 6455 §5, §7.4, §8.1): invalid UTF-8
//! closes with 1007; an unmasked frame, a reserved opcode, reserved bits, a
//! fragmented control frame, a control payload over 125 bytes and other framing
//! errors close with 1002. The handler is told the same status, and afterwards
//! the server serves a normal client with its open-file count back where it was.

use wsboot::HandlerRegistry;
use wsboot::test::TestServer;
use wsboot_tests::opcode::{BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT};
use wsboot_tests::open_files::{assert_recovered, open_files, serial_test};
use wsboot_tests::raw::finish_close;
use wsboot_tests::{Closures, RawClient, ReportingEcho};

async fn server() -> (TestServer, Closures) {
    let (handler, closures) = ReportingEcho::new();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/strict", handler);
    registry.add_handler("/echo", wsboot_tests::Echo);
    (TestServer::start_with(wsboot::Server::builder().registry(registry)).await, closures)
}

/// Sends `bytes` on a fresh session and expects the server to close it with
/// `code` (answering its close frame), the handler to see `code`, and the
/// reason to contain `words`.
async fn expect_violation(server: &TestServer, closures: &mut Closures, bytes: &[u8], code: u16, words: &str) {
    let mut client = RawClient::connect(server, "/strict").await;
    client.send_raw(bytes).await;
    let (received, reason) = client.expect_close().await;
    assert_eq!(received, Some(code), "{bytes:02x?} closes with {code}: {reason:?}");
    assert!(reason.contains(words), "the reason for {bytes:02x?} names the problem ({words:?}): {reason:?}");
    if bytes[0] & 0x0f == CLOSE {
        // The violation was in the client's own close frame: the server does not
        // wait for another one.
        assert_eq!(client.read_frame().await, None, "the server ends the connection");
    } else {
        finish_close(client, code).await;
    }
    assert_eq!(closures.next().await.code(), code, "after_connection_closed sees {code}");
}

/// A masked frame with the whole first byte given (FIN, RSV bits, opcode).
fn frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = wsboot_tests::encode_frame(true, 0, payload, true);
    frame[0] = first_byte;
    frame
}

fn masked(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    wsboot_tests::encode_frame(fin, opcode, payload, true)
}

#[test]
fn invalid_utf8_in_text_closes_with_1007() {
    serial_test(async {
        let (server, mut closures) = server().await;
        let baseline = open_files();

        // A lone continuation byte, an overlong encoding, a UTF-16 surrogate.
        for bad in [&b"ok \x80"[..], b"\xc0\xaf", b"\xed\xa0\x80"] {
            expect_violation(&server, &mut closures, &masked(true, TEXT, bad), 1007, "UTF-8").await;
        }
        // A message that ends in the middle of a character.
        let split = [masked(false, TEXT, b"caf\xc3"), masked(true, CONTINUATION, b"")].concat();
        expect_violation(&server, &mut closures, &split, 1007, "UTF-8").await;
        // Found in the first fragment: the server does not wait for the rest.
        expect_violation(&server, &mut closures, &masked(false, TEXT, b"\xff more to come"), 1007, "UTF-8").await;
        // A close reason is UTF-8 too.
        expect_violation(&server, &mut closures, &masked(true, CLOSE, b"\x03\xe8\xff"), 1007, "UTF-8").await;
        // Binary messages are not text: the same bytes are echoed.
        let mut client = RawClient::connect(&server, "/strict").await;
        client.send_frame(true, BINARY, b"\xff\xfe", true).await;
        assert_eq!(client.read_frame().await.expect("the echo").payload, b"\xff\xfe");
        drop(client);
        assert_eq!(closures.next().await.code(), 1006);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn an_unmasked_client_frame_closes_with_1002() {
    serial_test(async {
        let (server, mut closures) = server().await;
        let baseline = open_files();

        let unmasked = wsboot_tests::encode_frame(true, TEXT, b"hello", false);
        expect_violation(&server, &mut closures, &unmasked, 1002, "masked").await;
        let unmasked_ping = wsboot_tests::encode_frame(true, PING, b"", false);
        expect_violation(&server, &mut closures, &unmasked_ping, 1002, "masked").await;

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn reserved_opcodes_close_with_1002() {
    serial_test(async {
        let (server, mut closures) = server().await;
        let baseline = open_files();

        for opcode in (0x3..=0x7).chain(0xb..=0xf) {
            expect_violation(&server, &mut closures, &frame(0x80 | opcode, b"x"), 1002, "opcode").await;
        }

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn reserved_bits_without_an_extension_close_with_1002() {
    serial_test(async {
        let (server, mut closures) = server().await;
        let baseline = open_files();

        for rsv in [0x40, 0x20, 0x10] {
            expect_violation(&server, &mut closures, &frame(0x80 | rsv | TEXT, b"x"), 1002, "extension").await;
        }
        // On a control frame too.
        expect_violation(&server, &mut closures, &frame(0x80 | 0x10 | PING, b""), 1002, "extension").await;

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn fragmented_control_frames_close_with_1002() {
    serial_test(async {
        let (server, mut closures) = server().await;
        let baseline = open_files();

        for opcode in [PING, PONG, CLOSE] {
            expect_violation(&server, &mut closures, &masked(false, opcode, b""), 1002, "fragmented control").await;
        }

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn control_payloads_over_125_bytes_close_with_1002() {
    serial_test(async {
        let (server, mut closures) = server().await;
        let baseline = open_files();

        // 125 bytes is the largest allowed: answered with a pong of the same payload.
        let mut client = RawClient::connect(&server, "/strict").await;
        client.send_frame(true, PING, &[b'p'; 125], true).await;
        let pong = client.read_frame().await.expect("a pong");
        assert_eq!((pong.opcode, pong.payload.len()), (PONG, 125));
        drop(client);
        assert_eq!(closures.next().await.code(), 1006);

        for opcode in [PING, PONG] {
            expect_violation(&server, &mut closures, &masked(true, opcode, &[0; 126]), 1002, "125").await;
        }
        let mut long_close = vec![0x03, 0xe8];
        long_close.extend([b'r'; 124]);
        expect_violation(&server, &mut closures, &masked(true, CLOSE, &long_close), 1002, "125").await;

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn broken_fragmentation_and_close_frames_close_with_1002() {
    serial_test(async {
        let (server, mut closures) = server().await;
        let baseline = open_files();

        let stray_continuation = masked(true, CONTINUATION, b"x");
        expect_violation(&server, &mut closures, &stray_continuation, 1002, "continuation").await;
        let interleaved = [masked(false, TEXT, b"a"), masked(true, BINARY, b"b")].concat();
        expect_violation(&server, &mut closures, &interleaved, 1002, "before the previous one finished").await;
        // Close frames: a 1-byte payload, and codes that must never be sent.
        expect_violation(&server, &mut closures, &masked(true, CLOSE, b"\x03"), 1002, "1-byte").await;
        for code in [999u16, 1005, 1006, 1015, 2000] {
            expect_violation(&server, &mut closures, &masked(true, CLOSE, &code.to_be_bytes()), 1002, "close code")
                .await;
        }

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn control_frames_between_fragments_are_fine() {
    serial_test(async {
        let (server, _closures) = server().await;
        let mut client = RawClient::connect(&server, "/strict").await;
        client.send_raw(&masked(false, TEXT, b"frag")).await;
        client.send_raw(&masked(true, PING, b"mid")).await;
        client.send_raw(&masked(true, CONTINUATION, b"ment")).await;
        let pong = client.read_frame().await.expect("the pong");
        assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"mid"[..]));
        let text = client.read_frame().await.expect("the message");
        assert_eq!((text.opcode, text.payload.as_slice()), (TEXT, &b"fragment"[..]));
        drop(client);
        server.shutdown().await;
    });
}
