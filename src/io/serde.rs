//! `Serialize` and `Deserialize` (feature `serde`) for layers, chains and scalers, so that a
//! network can live inside a program's own serialised configuration.
//!
//! A [`Linear`] is written as `{"shape": [O, I], "weight": [...], "bias": [...]}` with the
//! weight in PyTorch's row-major `out × in` order; reading checks the shape against the type's
//! `I` and `O`, the lengths, and that every value is finite, and fails with an error of the
//! format (naming the layer type and both shapes), never a panic. Activations are unit
//! values (`LeakyRelu` keeps its slope, `Dropout` its rate and seed); a [`Chain`] is
//! `{"first": ..., "second": ...}`.
//!
//! # Example
//! ```
//! use constnet::{Net, nn::{Build, Layer, Linear, Relu}};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Controller {
//!     name: String,
//!     policy: Net![Linear<3, 4>, Relu, Linear<4, 1>],
//! }
//!
//! let config = Controller { name: "pendulum".into(), policy: <Net![Linear<3, 4>, Relu, Linear<4, 1>]>::zeros() };
//! let json = serde_json::to_string(&config)?;
//! let back: Controller = serde_json::from_str(&json)?;
//! assert_eq!(back.policy.num_params(), config.policy.num_params());
//!
//! // A network of other sizes does not read: the error names the layer and both shapes.
//! let err = serde_json::from_str::<Net![Linear<3, 5>, Relu, Linear<5, 1>]>(
//!     &serde_json::to_string(&config.policy)?,
//! ).unwrap_err();
//! assert!(err.to_string().contains("Linear<3, 5>: weight of shape [4, 3], expected [5, 3]"));
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::alloc_prelude::*;
use crate::{
    base::scalar::Scalar, data::preprocess::MinMaxScaler, data::preprocess::StandardScaler,
    nn::layers::Dropout, nn::layers::LeakyRelu, nn::layers::Linear,
};

/// How a `Linear` is written: its shape, then the values, row-major.
#[derive(Serialize, Deserialize)]
#[serde(rename = "Linear")]
struct LinearRepr<T> {
    shape: [usize; 2],
    weight: Vec<T>,
    bias: Vec<T>,
}

impl<const I: usize, const O: usize, T: Scalar + Serialize> Serialize for Linear<I, O, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let weight = (0..O)
            .flat_map(|r| (0..I).map(move |c| (r, c)))
            .map(|(r, c)| self.weight()[(r, c)])
            .collect();
        LinearRepr {
            shape: [O, I],
            weight,
            bias: self.bias().as_slice().to_vec(),
        }
        .serialize(serializer)
    }
}

impl<'de, const I: usize, const O: usize, T: Scalar + Deserialize<'de>> Deserialize<'de>
    for Linear<I, O, T>
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = LinearRepr::<T>::deserialize(deserializer)?;
        let name = format!("Linear<{I}, {O}>");
        if repr.shape != [O, I] {
            return Err(D::Error::custom(format!(
                "{name}: weight of shape {:?}, expected [{O}, {I}]",
                repr.shape
            )));
        }
        // `from_rows` checks the lengths and that every value is finite.
        Linear::from_rows(&repr.weight, &repr.bias)
            .map_err(|e| D::Error::custom(format!("{name}: {e}")))
    }
}

/// How a `LeakyRelu` is written.
#[derive(Serialize, Deserialize)]
#[serde(rename = "LeakyRelu")]
struct LeakyReluRepr {
    slope: f64,
}

impl Serialize for LeakyRelu {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        LeakyReluRepr {
            slope: self.slope(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LeakyRelu {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = LeakyReluRepr::deserialize(deserializer)?;
        if !repr.slope.is_finite() {
            return Err(D::Error::custom("LeakyRelu: the slope must be finite"));
        }
        Ok(LeakyRelu::new(repr.slope))
    }
}

/// How a `Dropout` is written (its mode and mask stream start afresh when read).
#[derive(Serialize, Deserialize)]
#[serde(rename = "Dropout")]
struct DropoutRepr {
    p: f64,
    seed: u64,
}

impl Serialize for Dropout {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        DropoutRepr {
            p: self.p(),
            seed: self.seed_value(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Dropout {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = DropoutRepr::deserialize(deserializer)?;
        Dropout::new(repr.p)
            .map(|d| d.seed(repr.seed))
            .map_err(|e| D::Error::custom(format!("Dropout: {e}")))
    }
}

/// How a scaler is written: two vectors of `N`.
#[derive(Serialize, Deserialize)]
struct ScalerRepr<T> {
    shift: Vec<T>,
    scale: Vec<T>,
}

impl<T: Scalar + Serialize, const N: usize> Serialize for StandardScaler<T, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ScalerRepr {
            shift: self.mean().as_slice().to_vec(),
            scale: self.scale().as_slice().to_vec(),
        }
        .serialize(serializer)
    }
}

impl<'de, T: Scalar + Deserialize<'de>, const N: usize> Deserialize<'de> for StandardScaler<T, N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = ScalerRepr::<T>::deserialize(deserializer)?;
        let mut scaler = StandardScaler::identity();
        scaler
            .set_tensors(&repr.shift, &repr.scale)
            .map_err(|e| D::Error::custom(format!("StandardScaler<{N}>: {e}")))?;
        Ok(scaler)
    }
}

impl<T: Scalar + Serialize, const N: usize> Serialize for MinMaxScaler<T, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ScalerRepr {
            shift: self.min().as_slice().to_vec(),
            scale: self.range().as_slice().to_vec(),
        }
        .serialize(serializer)
    }
}

impl<'de, T: Scalar + Deserialize<'de>, const N: usize> Deserialize<'de> for MinMaxScaler<T, N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = ScalerRepr::<T>::deserialize(deserializer)?;
        // The same checks as a standard scaler's: N finite values, positive ranges.
        let mut check = StandardScaler::<T, N>::identity();
        check
            .set_tensors(&repr.shift, &repr.scale)
            .map_err(|e| D::Error::custom(format!("MinMaxScaler<{N}>: {e}")))?;
        Ok(MinMaxScaler::from_parts(*check.mean(), *check.scale()))
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use crate::{
        Net, nn::build::Build, nn::init::Init, nn::layer::Layer, nn::layers::Linear,
        nn::layers::Relu, nn::layers::Sigmoid, nn::layers::Softmax, nn::layers::Tanh,
    };
    use nalgebra::SVector;
    use rand::SeedableRng;

    type Mlp = Net![Linear<3, 8>, Tanh, Linear<8, 8>, Relu, Dropout, Linear<8, 2>, Softmax];
    use crate::nn::layers::Dropout;

    fn mlp() -> Mlp {
        let mut net = Mlp::init_with(
            Init::XavierUniform,
            &mut rand::rngs::StdRng::seed_from_u64(1),
        );
        *net.first_mut().first_mut().second_mut() = Dropout::new(0.25).unwrap().seed(9);
        net
    }

    fn outputs<N: Layer<f32, 3, 2>>(net: &N) -> Vec<SVector<f32, 2>> {
        (0..20)
            .map(|i| net.forward(&SVector::from([i as f32 / 7.0, -1.0, 0.5 * i as f32])))
            .collect()
    }

    #[test]
    fn json_round_trip_is_exact() {
        let net = mlp();
        let json = serde_json::to_string(&net).unwrap();
        let back: Mlp = serde_json::from_str(&json).unwrap();
        assert_eq!(outputs(&back), outputs(&net));
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        assert!(json.contains(r#""shape":[8,3]"#), "{json}");
        let dropout = back.first().first().second();
        assert_eq!((dropout.p(), dropout.seed_value()), (0.25, 9));
    }

    #[test]
    fn cbor_round_trip_is_exact_and_compact() {
        let net = mlp();
        let mut bytes = Vec::new();
        ciborium::into_writer(&net, &mut bytes).unwrap();
        let back: Mlp = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert_eq!(outputs(&back), outputs(&net));
        // 122 parameters of 5 bytes each (CBOR's f32) and a little structure.
        assert!(bytes.len() < 122 * 5 + 200, "{} bytes", bytes.len());
    }

    #[test]
    fn a_network_of_another_shape_is_an_error_naming_both_shapes() {
        let json = serde_json::to_string(&mlp()).unwrap();
        type Wider = Net![Linear<3, 9>, Tanh, Linear<9, 8>, Relu, Dropout, Linear<8, 2>, Softmax];
        let err = serde_json::from_str::<Wider>(&json)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Linear<3, 9>: weight of shape [8, 3], expected [9, 3]"),
            "{err}"
        );
        // Another layer kind where a Linear belongs.
        assert!(
            serde_json::from_str::<Net![Linear<3, 8>, Sigmoid]>(r#"{"first":null,"second":null}"#)
                .is_err()
        );
    }

    #[test]
    fn malformed_values_are_errors_never_panics() {
        let good =
            serde_json::to_string(&Linear::<2, 1, f64>::from_rows(&[1.0, 2.0], &[3.0]).unwrap())
                .unwrap();
        assert_eq!(good, r#"{"shape":[1,2],"weight":[1.0,2.0],"bias":[3.0]}"#);
        for bad in [
            r#"{"shape":[1,2],"weight":[1.0],"bias":[3.0]}"#,
            r#"{"shape":[1,2],"weight":[1.0,2.0],"bias":[]}"#,
            r#"{"shape":[1,2],"weight":[1.0,2.0],"bias":[3.0,4.0]}"#,
            r#"{"shape":[1,2],"weight":[1.0,null],"bias":[3.0]}"#,
            r#"{"shape":[1,2],"weight":[1.0,1e999],"bias":[3.0]}"#,
            r#"{"shape":[2,1],"weight":[1.0,2.0],"bias":[3.0]}"#,
            r#"{"shape":[1,2],"bias":[3.0]}"#,
            r#"[1, 2, 3]"#,
            r#"{"shape":[1,2],"weight":[1.0,2.0],"bias":[3.0]"#,
            "",
        ] {
            assert!(
                serde_json::from_str::<Linear<2, 1, f64>>(bad).is_err(),
                "{bad}"
            );
        }
        assert!(serde_json::from_str::<Dropout>(r#"{"p":1.5,"seed":0}"#).is_err());
        assert!(
            serde_json::from_str::<crate::data::preprocess::StandardScaler<f32, 2>>(
                r#"{"shift":[0,0],"scale":[1,0]}"#
            )
            .is_err()
        );
        // Every truncation of a CBOR encoding fails cleanly.
        let mut bytes = Vec::new();
        ciborium::into_writer(&mlp(), &mut bytes).unwrap();
        for end in 0..bytes.len() {
            assert!(
                ciborium::from_reader::<Mlp, _>(&bytes[..end]).is_err(),
                "{end}"
            );
        }
    }

    #[test]
    fn scalers_round_trip() {
        let data = crate::data::Dataset::<f64, 2, usize>::from_row_arrays([
            ([1.0, 5.0], 0),
            ([3.0, 9.0], 1),
        ])
        .unwrap();
        let s = crate::data::preprocess::StandardScaler::fit(&data);
        let back: crate::data::preprocess::StandardScaler<f64, 2> =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        let m = crate::data::preprocess::MinMaxScaler::fit(&data).unwrap();
        let back: crate::data::preprocess::MinMaxScaler<f64, 2> =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
