//! Shape arithmetic of convolutional networks, done by the compiler on stable Rust.
//!
//! A convolution's output size, `(H + 2P − K) / S + 1` per side, cannot appear in a type on
//! stable Rust (that needs the unstable `generic_const_exprs`), but a constant expression
//! without generic parameters can. [`Net!`](crate::Net) therefore follows the shape of a
//! network that starts with `Input<C, H, W>` as a chain of [`Stage`]s, one per layer, and
//! writes every size of every layer's type as such an expression. The compiler evaluates them
//! at `cargo check`; a layer that does not fit the shape before it makes the evaluation
//! panic, and the panic message is the first line of the compile error:
//!
//! ```text
//! error[E0080]: evaluation panicked: `Conv2d` 1 -> 8, 5x5 on 1x28x28 gives 8x24x24 = 4608 values, but `Linear<4600, 64>` takes 4600: write `Linear<4608, _>`
//! ```
//!
//! The same arithmetic checks a layer type written by hand (`Conv2d<1, 8, 5, 1, 0, 28, 28,
//! 784, 4608>`), when a layer of that type is built ([`check_conv`], [`check_pool`]).
//!
//! Everything here is `const`; the types are public only because the macro's expansion
//! names them.

/// What a stage's layer was, with the numbers its messages need.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The network's input.
    Input,
    /// A convolution: input channels, output channels, kernel, stride, padding.
    Conv {
        /// Input channels.
        c: usize,
        /// Output channels (filters).
        f: usize,
        /// Kernel size.
        k: usize,
        /// Stride.
        s: usize,
        /// Zero padding.
        p: usize,
    },
    /// A pooling layer: maximum (`true`) or average, window, stride.
    Pool {
        /// Max (`true`) or average pooling.
        max: bool,
        /// Window size.
        k: usize,
        /// Stride.
        s: usize,
    },
    /// `BatchNorm2d<c>`.
    BatchNorm {
        /// Channels.
        c: usize,
    },
    /// `Flatten`.
    Flatten,
    /// `Linear<i, o>`.
    Linear {
        /// Inputs.
        i: usize,
        /// Outputs.
        o: usize,
    },
    /// A layer of the user's that says its output size.
    Other,
}

/// The shape after one layer of a network, as [`Net!`](crate::Net) follows it: the values
/// per sample as channels × height × width (`rank` 2), channels × length (`rank` 1) or a flat
/// vector (`rank` 0), and what the layer was and took, for the messages.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Stage {
    /// Output channels (1 for a flat vector).
    pub c: usize,
    /// Output height (1 below rank 2).
    pub h: usize,
    /// Output width, or length, or the flat size.
    pub w: usize,
    /// 2: `C x H x W`, 1: `C x L`, 0: flat.
    pub rank: u8,
    /// The input shape of this stage's layer: channels, height, width, rank.
    pub input: (usize, usize, usize, u8),
    /// The layer.
    pub kind: Kind,
    /// The layer before, and its input shape, for the messages.
    pub maker: (Kind, (usize, usize, usize, u8)),
    /// Set when this layer or one before it does not fit: later stages then stay quiet, so
    /// that one mistake gives one error.
    pub broken: bool,
    /// This layer's own problem, reported by [`Stage::check`].
    pub fault: Fault,
}

/// Why a layer does not fit the shape before it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// It fits.
    None,
    /// It takes another number of channels.
    Channels,
    /// It takes another number of values.
    Values,
    /// Its kernel or window is larger than its (padded) input.
    TooLarge,
    /// A stride of zero.
    ZeroStride,
    /// It needs an input of another rank (a 2-D layer after a 1-D one, or after a flat one).
    Rank,
}

impl Stage {
    /// The network's input: `C x H x W`.
    pub const fn input2d(c: usize, h: usize, w: usize) -> Stage {
        Stage::start(c, h, w, 2)
    }

    /// The network's input: `C x L`.
    pub const fn input1d(c: usize, l: usize) -> Stage {
        Stage::start(c, 1, l, 1)
    }

    /// The network's input: a flat vector.
    pub const fn input(n: usize) -> Stage {
        Stage::start(1, 1, n, 0)
    }

    const fn start(c: usize, h: usize, w: usize, rank: u8) -> Stage {
        Stage {
            c,
            h,
            w,
            rank,
            input: (c, h, w, rank),
            kind: Kind::Input,
            maker: (Kind::Input, (c, h, w, rank)),
            broken: false,
            fault: Fault::None,
        }
    }

    /// Values per sample after this stage.
    pub const fn len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// Whether a sample is empty after this stage.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per sample that this stage's layer takes.
    pub const fn in_len(&self) -> usize {
        self.input.0 * self.input.1 * self.input.2
    }

    /// Height of this stage's layer's input.
    pub const fn in_h(&self) -> usize {
        self.input.1
    }

    /// Width (or length) of this stage's layer's input.
    pub const fn in_w(&self) -> usize {
        self.input.2
    }

    const fn next(prev: &Stage, kind: Kind, out: (usize, usize, usize, u8), fault: Fault) -> Stage {
        let fault = if prev.broken { Fault::None } else { fault };
        Stage {
            c: out.0,
            h: out.1,
            w: out.2,
            rank: out.3,
            input: (prev.c, prev.h, prev.w, prev.rank),
            kind,
            maker: (prev.kind, prev.input),
            broken: prev.broken || !matches!(fault, Fault::None),
            fault,
        }
    }

    /// A convolution over the last `rank` axes (2: `Conv2d`, 1: `Conv1d`).
    pub const fn conv(
        prev: Stage,
        rank: u8,
        c: usize,
        f: usize,
        k: usize,
        s: usize,
        p: usize,
    ) -> Stage {
        let kind = Kind::Conv { c, f, k, s, p };
        let (fault, oh, ow) = if prev.rank != rank {
            (Fault::Rank, 1, 1)
        } else if prev.c != c {
            (Fault::Channels, 1, 1)
        } else {
            window(prev.h, prev.w, rank, k, s, p)
        };
        Stage::next(&prev, kind, (f, oh, ow, rank), fault)
    }

    /// A pooling layer over the last `rank` axes.
    pub const fn pool(prev: Stage, rank: u8, max: bool, k: usize, s: usize) -> Stage {
        let kind = Kind::Pool { max, k, s };
        let (fault, oh, ow) = if prev.rank != rank {
            (Fault::Rank, 1, 1)
        } else {
            window(prev.h, prev.w, rank, k, s, 0)
        };
        Stage::next(&prev, kind, (prev.c, oh, ow, rank), fault)
    }

    /// `BatchNorm2d<c>`: the same shape, `c` channels of images or signals.
    pub const fn batch_norm(prev: Stage, c: usize) -> Stage {
        let fault = if prev.rank == 0 {
            Fault::Rank
        } else if prev.c != c {
            Fault::Channels
        } else {
            Fault::None
        };
        Stage::next(
            &prev,
            Kind::BatchNorm { c },
            (prev.c, prev.h, prev.w, prev.rank),
            fault,
        )
    }

    /// `Flatten`: the same values, as a flat vector.
    pub const fn flatten(prev: Stage) -> Stage {
        Stage::next(&prev, Kind::Flatten, (1, 1, prev.len(), 0), Fault::None)
    }

    /// `Linear<i, o>`.
    pub const fn linear(prev: Stage, i: usize, o: usize) -> Stage {
        let fault = if prev.len() == i {
            Fault::None
        } else {
            Fault::Values
        };
        Stage::next(&prev, Kind::Linear { i, o }, (1, 1, o, 0), fault)
    }

    /// A layer of the user's that gives `o` values.
    pub const fn other(prev: Stage, o: usize) -> Stage {
        Stage::next(&prev, Kind::Other, (1, 1, o, 0), Fault::None)
    }

    /// This stage, if its layer fits the shape before it; otherwise a compile-time panic
    /// whose message names the layer, both shapes and the arithmetic.
    pub const fn check(self) -> Stage {
        if matches!(self.fault, Fault::None) {
            return self;
        }
        let before = Stage {
            c: self.input.0,
            h: self.input.1,
            w: self.input.2,
            rank: self.input.3,
            ..self
        };
        let mut m = Message::new();
        match self.fault {
            Fault::Channels | Fault::Values | Fault::Rank => {
                m = gives(m, &self, &before).str(", but ");
                m = this_layer(m, self.kind, self.rank);
                m = match (self.fault, self.kind) {
                    (Fault::Channels, Kind::Conv { c, .. } | Kind::BatchNorm { c }) => {
                        m.str(" takes ").num(c).str(" channels")
                    }
                    (Fault::Values, Kind::Linear { i, .. }) => {
                        let m = m.str(" takes ").num(i);
                        if matches!(self.maker.0, Kind::Linear { .. } | Kind::Other | Kind::Input) {
                            m
                        } else {
                            m.str(": write `Linear<").num(before.len()).str(", _>`")
                        }
                    }
                    _ => match (self.rank, before.rank) {
                        (_, 0) => m.str(" takes channels (`Input<C, H, W>` or `Input<C, L>`), not a flat vector"),
                        (2, _) => m.str(" takes `C x H x W` images, not `C x L` signals"),
                        _ => m.str(" takes `C x L` signals, not `C x H x W` images"),
                    },
                };
            }
            Fault::TooLarge => {
                m = this_layer(m, self.kind, self.rank)
                    .str(" on ")
                    .dims(&before);
                let (k, p) = match self.kind {
                    Kind::Conv { k, p, .. } => (k, p),
                    Kind::Pool { k, .. } => (k, 0),
                    _ => (0, 0),
                };
                m = m.str(": the window of ").num(k).str(" is larger than ");
                if p > 0 {
                    m = m.str("the input padded by ").num(p).str(" on each side (");
                    m = side(m, before.h + 2 * p, before.w + 2 * p, before.rank).str(")");
                } else {
                    m = m.str("the input (");
                    m = side(m, before.h, before.w, before.rank).str(")");
                }
            }
            Fault::ZeroStride => {
                m = this_layer(m, self.kind, self.rank)
                    .str(" has a stride of 0; the smallest stride is 1");
            }
            Fault::None => {}
        }
        m.panic()
    }
}

/// What the layer before `stage` gives: `` `Conv2d` 1 -> 8, 5x5 on 1x28x28 gives 8x24x24 =
/// 4608 values ``.
const fn gives(m: Message, stage: &Stage, before: &Stage) -> Message {
    let (kind, input) = stage.maker;
    let maker_input = Stage {
        c: input.0,
        h: input.1,
        w: input.2,
        rank: input.3,
        ..*stage
    };
    match kind {
        Kind::Input => m.str("the input ").shape(before).str(" values"),
        Kind::Flatten => m
            .str("`Flatten` of ")
            .dims(&maker_input)
            .str(" gives ")
            .num(before.len())
            .str(" values"),
        Kind::Linear { .. } | Kind::Other => this_layer(m, kind, before.rank)
            .str(" gives ")
            .num(before.len())
            .str(" values"),
        _ => this_layer(m, kind, before.rank)
            .str(" on ")
            .dims(&maker_input)
            .str(" gives ")
            .shape(before)
            .str(" values"),
    }
}

/// The output side(s) of a window of `k` with stride `s` and padding `p` over `h x w` (or a
/// length `w` when `rank` is 1): PyTorch's floor rule, `(n + 2p − k) / s + 1`; inputs past the
/// last whole window are left out, as in PyTorch.
const fn window(
    h: usize,
    w: usize,
    rank: u8,
    k: usize,
    s: usize,
    p: usize,
) -> (Fault, usize, usize) {
    if s == 0 {
        return (Fault::ZeroStride, 1, 1);
    }
    let too_large = k > w + 2 * p || (rank == 2 && k > h + 2 * p) || k == 0;
    if too_large {
        return (Fault::TooLarge, 1, 1);
    }
    let ow = (w + 2 * p - k) / s + 1;
    let oh = if rank == 2 {
        (h + 2 * p - k) / s + 1
    } else {
        1
    };
    (Fault::None, oh, ow)
}

/// `` `Conv2d` 1 -> 8, 5x5, stride 2, padding 1 `` and the like; `rank` is that of the layer's
/// output.
const fn this_layer(m: Message, kind: Kind, rank: u8) -> Message {
    match kind {
        Kind::Conv { c, f, k, s, p } => {
            let m = if rank == 2 {
                m.str("`Conv2d` ")
            } else {
                m.str("`Conv1d` ")
            };
            let m = m.num(c).str(" -> ").num(f).str(", ");
            let m = if rank == 2 {
                m.num(k).str("x").num(k)
            } else {
                m.str("kernel ").num(k)
            };
            let m = if s != 1 { m.str(", stride ").num(s) } else { m };
            if p != 0 {
                m.str(", padding ").num(p)
            } else {
                m
            }
        }
        Kind::Pool { max, k, s } => {
            let m = match (max, rank) {
                (true, 2) => m.str("`MaxPool2d` "),
                (false, 2) => m.str("`AvgPool2d` "),
                (true, _) => m.str("`MaxPool1d` "),
                (false, _) => m.str("`AvgPool1d` "),
            };
            let m = if rank == 2 {
                m.num(k).str("x").num(k)
            } else {
                m.str("window ").num(k)
            };
            if s != k { m.str(", stride ").num(s) } else { m }
        }
        Kind::Linear { i, o } => m.str("`Linear<").num(i).str(", ").num(o).str(">`"),
        Kind::BatchNorm { c } => m.str("`BatchNorm2d<").num(c).str(">`"),
        Kind::Flatten => m.str("`Flatten`"),
        Kind::Input => m.str("`Input`"),
        Kind::Other => m.str("the layer"),
    }
}

const fn side(m: Message, h: usize, w: usize, rank: u8) -> Message {
    if rank == 2 {
        m.num(h).str("x").num(w)
    } else {
        m.str("length ").num(w)
    }
}

/// The size `n` around a [`Residual`](crate::nn::Residual) block whose inner layers give
/// `inner` values, if they are the same; otherwise a compile-time panic that says so.
pub const fn residual(n: usize, inner: usize) -> usize {
    if n != inner {
        Message::new()
            .str("`Residual` adds its input of ")
            .num(n)
            .str(" values to the output of its inner layers, but they give ")
            .num(inner)
            .str(": the inner layers must end with ")
            .num(n)
            .str(" values")
            .panic()
    }
    n
}

/// Checks, when a convolution of a hand-written type is built, that its sizes agree:
/// `I = C·H·W` and `O = F·OH·OW` with PyTorch's output rule. `rank` is 2 for `Conv2d`
/// (`h x w` input) and 1 for `Conv1d` (`h` = 1, length `w`).
#[allow(clippy::too_many_arguments)]
pub const fn check_conv(
    rank: u8,
    c: usize,
    f: usize,
    k: usize,
    s: usize,
    p: usize,
    h: usize,
    w: usize,
    i: usize,
    o: usize,
) {
    let stage = Stage::conv(start(rank, c, h, w), rank, c, f, k, s, p).check();
    check_type(stage, i, o);
}

/// Checks, when a pooling layer of a hand-written type is built, that its sizes agree:
/// `I = C·H·W` for a whole number of channels `C`, and `O = C·OH·OW`.
#[allow(clippy::too_many_arguments)]
pub const fn check_pool(
    rank: u8,
    max: bool,
    k: usize,
    s: usize,
    h: usize,
    w: usize,
    i: usize,
    o: usize,
) {
    let plane = h * w;
    let c = match i.checked_div(plane) {
        Some(c) => c,
        None => 0,
    };
    if plane == 0 || c * plane != i {
        let m = Message::new().str("a pooling layer over ");
        side(m, h, w, rank)
            .str(" planes cannot take ")
            .num(i)
            .str(" values: they are not a whole number of planes")
            .panic()
    }
    if i > u32::MAX as usize {
        Message::new()
            .str("a pooling layer takes at most 4294967295 values per sample, not ")
            .num(i)
            .panic()
    }
    let stage = Stage::pool(start(rank, c, h, w), rank, max, k, s).check();
    check_type(stage, i, o);
}

const fn start(rank: u8, c: usize, h: usize, w: usize) -> Stage {
    if rank == 2 {
        Stage::input2d(c, h, w)
    } else {
        Stage::input1d(c, w)
    }
}

const fn check_type(stage: Stage, i: usize, o: usize) {
    if stage.in_len() != i || stage.len() != o {
        let m = this_layer(Message::new(), stage.kind, stage.rank).str(" on ");
        let before = Stage {
            c: stage.input.0,
            h: stage.input.1,
            w: stage.input.2,
            rank: stage.input.3,
            ..stage
        };
        m.shape(&before)
            .str(" gives ")
            .shape(&stage)
            .str(" values, but its type says ")
            .num(i)
            .str(" -> ")
            .num(o)
            .str(" (write them with `Net!`, which works them out)")
            .panic()
    }
}

/// A message built at compile time: `const fn`s cannot use `format!`.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Message {
    bytes: [u8; 400],
    len: usize,
}

impl Message {
    const fn new() -> Message {
        Message {
            bytes: [0; 400],
            len: 0,
        }
    }

    const fn str(mut self, s: &str) -> Message {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() && self.len < self.bytes.len() {
            self.bytes[self.len] = b[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    const fn num(mut self, mut n: usize) -> Message {
        let mut digits = [0u8; 20];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            n /= 10;
            k += 1;
            if n == 0 {
                break;
            }
        }
        while k > 0 && self.len < self.bytes.len() {
            k -= 1;
            self.bytes[self.len] = digits[k];
            self.len += 1;
        }
        self
    }

    /// `8x24x24 = 4608`, `8x100 = 800` or `4608`.
    const fn shape(self, s: &Stage) -> Message {
        if s.rank == 0 {
            self.num(s.len())
        } else {
            self.dims(s).str(" = ").num(s.len())
        }
    }

    /// `8x24x24`, `8x100` or `4608`.
    const fn dims(self, s: &Stage) -> Message {
        match s.rank {
            2 => self.num(s.c).str("x").num(s.h).str("x").num(s.w),
            1 => self.num(s.c).str("x").num(s.w),
            _ => self.num(s.len()),
        }
    }

    const fn panic(&self) -> ! {
        let (text, _) = self.bytes.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(text) => panic!("{}", text),
            Err(_) => panic!("a layer does not fit the shape before it"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_follow_the_reference_network() {
        let conv = Stage::conv(Stage::input2d(1, 28, 28), 2, 1, 8, 5, 1, 0);
        assert_eq!(
            (conv.c, conv.h, conv.w, conv.len(), conv.in_len()),
            (8, 24, 24, 4608, 784)
        );
        let pool = Stage::pool(conv, 2, true, 2, 2);
        let conv2 = Stage::conv(pool, 2, 8, 16, 5, 1, 0);
        let flat = Stage::flatten(Stage::pool(conv2, 2, true, 2, 2));
        assert_eq!((flat.rank, flat.len()), (0, 256));
        let linear = Stage::linear(flat, 256, 64).check();
        assert_eq!((linear.in_len(), linear.len()), (256, 64));
        // Padding, stride and a stride that leaves the last column out (floor).
        let padded = Stage::conv(Stage::input2d(3, 32, 31), 2, 3, 4, 3, 2, 1);
        assert_eq!((padded.h, padded.w), (16, 16));
        let signal = Stage::conv(Stage::input1d(2, 100), 1, 2, 4, 5, 2, 0);
        assert_eq!((signal.c, signal.w, signal.len()), (4, 48, 192));
    }

    #[test]
    fn a_layer_that_does_not_fit_is_a_fault_once() {
        let wrong = Stage::linear(Stage::input2d(1, 4, 4), 15, 2);
        assert_eq!(wrong.fault, Fault::Values);
        // Later stages are broken but quiet: one mistake, one error.
        let later = Stage::linear(wrong, 2, 3);
        assert!(later.broken);
        assert_eq!(later.fault, Fault::None);
        let channels = Stage::conv(Stage::input2d(3, 8, 8), 2, 1, 4, 3, 1, 0);
        assert_eq!(channels.fault, Fault::Channels);
        let large = Stage::pool(Stage::input2d(1, 4, 4), 2, true, 5, 5);
        assert_eq!(large.fault, Fault::TooLarge);
        let rank = Stage::conv(Stage::input(16), 2, 1, 4, 3, 1, 0);
        assert_eq!(rank.fault, Fault::Rank);
        let stride = Stage::conv(Stage::input2d(1, 8, 8), 2, 1, 4, 3, 0, 0);
        assert_eq!(stride.fault, Fault::ZeroStride);
    }
}
