//! Types that configs and checkpoints name by a word (`"tanh"`, `"leapfrog"`): serialized as
//! that name and parsed with their `FromStr`, whose error lists the known names.

/// Implements serde's `Serialize` (as `self.name()`) and `Deserialize` (through `FromStr`) for a
/// type named by a word.
macro_rules! serde_by_name {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_by_name!(crate::Activation);
serde_by_name!(crate::IntegratorKind);
serde_by_name!(crate::integrators::RolloutMethod);
