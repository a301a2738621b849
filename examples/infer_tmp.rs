use constnet::rand::{SeedableRng, rngs::StdRng};
use constnet::{
    Batch, Net,
    nn::{Build, Layer, Relu},
};
type Cnn = Net![Input<1, 28, 28>, Conv2d<1, 8, 5>, Relu, MaxPool2d<2>, Conv2d<8, 16, 5>, Relu, MaxPool2d<2>, Flatten, Linear<256, 64>, Relu, Linear<64, 10>];
fn main() {
    let net = Cnn::init(&mut StdRng::seed_from_u64(0));
    let x = Batch::<f32, 784>::from_fn(1000, |r, c| ((r * 7 + c * 13) % 255) as f32 / 255.0);
    let mut y = Batch::<f32, 10>::zeros(1000);
    let mut tape = constnet::nn::DynTape::default();
    for _ in 0..3 {
        net.forward_batch(&x, &mut y, &mut tape);
    }
    let mut best = f64::MAX;
    for _ in 0..10 {
        let t = std::time::Instant::now();
        net.forward_batch(&x, &mut y, &mut tape);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{:.0} images/s", 1000.0 / best);
}
