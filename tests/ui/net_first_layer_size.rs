use constnet::Net;

// An activation first: its size is not known.
type Mlp = Net![Relu, Linear<4, 2>];

fn main() {
    let _: Option<Mlp> = None;
}
