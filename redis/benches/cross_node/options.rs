//! The bench's command line.

pub(crate) const USAGE: &str = "\
usage: cross_node [--messages N] [--subscribers N] [--publishers N] [--size BYTES]
                  [--window N] [--probes N] [--repeat N] [--redis URL]

defaults: 100000 messages, 10 subscribers, 256 publishers, 64-byte payloads,
512 messages in flight, 1000 idle probes, 3 repetitions, a redis-server of its own";

/// What to measure, and how much.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) messages: u64,
    pub(crate) subscribers: usize,
    pub(crate) publishers: u64,
    pub(crate) size: usize,
    pub(crate) window: u64,
    pub(crate) probes: u64,
    pub(crate) repeat: usize,
    pub(crate) redis: Option<String>,
}

impl Options {
    /// Reads the arguments (after the program's name).
    pub(crate) fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            messages: 100_000,
            subscribers: 10,
            publishers: 256,
            size: 64,
            window: 512,
            probes: 1_000,
            repeat: 3,
            redis: None,
        };
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"));
            let number = |name: &str, text: String| {
                text.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| format!("{name}: expected a positive number"))
            };
            match arg.as_str() {
                "--messages" => options.messages = number("--messages", value("--messages")?)?,
                "--subscribers" => options.subscribers = number("--subscribers", value("--subscribers")?)? as usize,
                "--publishers" => options.publishers = number("--publishers", value("--publishers")?)?,
                "--size" => options.size = number("--size", value("--size")?)? as usize,
                "--window" => options.window = number("--window", value("--window")?)?,
                "--probes" => options.probes = number("--probes", value("--probes")?)?,
                "--repeat" => options.repeat = number("--repeat", value("--repeat")?)? as usize,
                "--redis" => options.redis = Some(value("--redis")?),
                // `cargo bench` passes this to every bench target.
                "--bench" => {}
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
            }
        }
        options.size = options.size.max(crate::HEADER);
        Ok(options)
    }
}
