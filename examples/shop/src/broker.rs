//! The message broker: Debian's `redis-server`, started on 127.0.0.1 on a free port for the
//! lifetime of the shop, and the one Redis stream (`orders`) the gateway writes and the orders
//! worker reads.
//!
//! The server runs under a small `sh` guard that reads the shop's pipe: when the shop exits,
//! however it exits (even killed), the pipe closes and the guard stops the server, so no
//! broker outlives the shop.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// The stream of confirmed orders.
pub const ORDERS_STREAM: &str = "orders";

/// How long a command may wait for its answer. The Redis client's default (500 ms) is shorter
/// than a `XREAD BLOCK` plus the scheduling delay of a busy machine: the worker would give up
/// on a healthy broker.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A multiplexed connection to the broker, with a response timeout that tolerates a busy machine.
pub async fn connect(
    client: &redis::Client,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(RESPONSE_TIMEOUT));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// A running `redis-server`, stopped on drop.
pub struct Broker {
    addr: SocketAddr,
    guard: Child,
    stdin: Option<ChildStdin>,
}

impl Broker {
    /// Starts `redis-server` (from `PATH`, or `FLOWTEL_REDIS_SERVER`) on a free port of
    /// 127.0.0.1 without persistence, and waits until it answers.
    pub fn start() -> Result<Broker, String> {
        let program =
            std::env::var("FLOWTEL_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut last = String::new();
        // A port found free may be taken before the server binds it: try a few.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
                .port();
            let mut guard = Command::new("sh")
                .arg("-c")
                // `read` returns when the shop's end of the pipe closes.
                .arg(r#""$0" "$@" & pid=$!; read _; kill $pid 2>/dev/null; wait $pid"#)
                .arg(&program)
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args([
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--protected-mode",
                    "yes",
                ])
                .args(["--loglevel", "warning", "--logfile", ""])
                .arg("--dir")
                .arg(std::env::temp_dir())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot start sh for {program}: {e}"))?;
            let stdin = guard.stdin.take();
            let mut broker = Broker {
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                guard,
                stdin,
            };
            match broker.wait_ready(Duration::from_secs(5)) {
                Ok(()) => return Ok(broker),
                Err(e) => last = e,
            }
            drop(broker);
        }
        Err(format!(
            "{program} did not start ({last}); install Debian's `redis-server` package \
             (or set FLOWTEL_REDIS_SERVER to the server binary)"
        ))
    }

    fn wait_ready(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.guard.try_wait() {
                return Err(format!("exited ({status})"));
            }
            if let Ok(mut s) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)) {
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 16];
                if s.write_all(b"PING\r\n").is_ok()
                    && std::io::Read::read(&mut s, &mut buf)
                        .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
                {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on {} within {within:?}", self.addr));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's `redis://` URL.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Closing the pipe stops the server; wait for the guard so nothing is left behind.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.guard.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.guard.kill();
        let _ = self.guard.wait();
    }
}
