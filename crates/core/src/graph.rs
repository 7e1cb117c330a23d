//! A framework-neutral computation graph: values (tensors with dtype and
//! shape), nodes (operators) and initializers (weights). Readers for each
//! model format build this; the analysis reads it.

use std::sync::Arc;

use bytes::Bytes;

use crate::name::Name;
use crate::shape::Shape;
use crate::shared::Shared;

/// Element types. The numbering is nncost's own; readers map their format's
/// codes onto it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
    F16,
    BF16,
    F8E4M3FN,
    F8E4M3FNUZ,
    F8E5M2,
    F8E5M2FNUZ,
    F8E8M0,
    F4E2M1,
    I4,
    U4,
    I2,
    U2,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    Bool,
    String,
    Complex64,
    Complex128,
}

impl DType {
    /// Storage size in bits (4 and 2 for the packed types; 0 for strings,
    /// whose size is not fixed).
    pub fn bits(self) -> u32 {
        use DType::*;
        match self {
            F4E2M1 | I4 | U4 => 4,
            I2 | U2 => 2,
            F8E4M3FN | F8E4M3FNUZ | F8E5M2 | F8E5M2FNUZ | F8E8M0 | I8 | U8 | Bool => 8,
            F16 | BF16 | I16 | U16 => 16,
            F32 | I32 | U32 => 32,
            F64 | I64 | U64 | Complex64 => 64,
            Complex128 => 128,
            String => 0,
        }
    }

    pub fn is_float(self) -> bool {
        use DType::*;
        matches!(
            self,
            F32 | F64
                | F16
                | BF16
                | F8E4M3FN
                | F8E4M3FNUZ
                | F8E5M2
                | F8E5M2FNUZ
                | F8E8M0
                | F4E2M1
                | Complex64
                | Complex128
        )
    }

    pub fn is_integer(self) -> bool {
        use DType::*;
        matches!(
            self,
            I2 | U2 | I4 | U4 | I8 | U8 | I16 | U16 | I32 | U32 | I64 | U64 | Bool
        )
    }

    pub fn name(self) -> &'static str {
        use DType::*;
        match self {
            F32 => "float32",
            F64 => "float64",
            F16 => "float16",
            BF16 => "bfloat16",
            F8E4M3FN => "float8e4m3fn",
            F8E4M3FNUZ => "float8e4m3fnuz",
            F8E5M2 => "float8e5m2",
            F8E5M2FNUZ => "float8e5m2fnuz",
            F8E8M0 => "float8e8m0",
            F4E2M1 => "float4e2m1",
            I4 => "int4",
            U4 => "uint4",
            I2 => "int2",
            U2 => "uint2",
            I8 => "int8",
            U8 => "uint8",
            I16 => "int16",
            U16 => "uint16",
            I32 => "int32",
            U32 => "uint32",
            I64 => "int64",
            U64 => "uint64",
            Bool => "bool",
            String => "string",
            Complex64 => "complex64",
            Complex128 => "complex128",
        }
    }
}

/// Where a tensor's elements are. Readers never copy weight bytes: `Raw`
/// is a view into the mapped file, and external data is only described.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    /// Little-endian packed elements (a zero-copy slice of the model file).
    Raw(Bytes),
    /// Elements given as integers (ONNX `int64_data`/`int32_data`, widened).
    Ints(Vec<i64>),
    /// Elements given as floats (ONNX `float_data`/`double_data`, widened).
    Floats(Vec<f64>),
    /// Stored in a separate file, which nncost does not open for counting
    /// (a reader may resolve small tensors that shape inference needs).
    External {
        /// Path relative to the model's folder, as the file states it.
        location: String,
        /// Byte offset of the elements in that file.
        offset: u64,
        /// Byte length, if stated.
        length: Option<u64>,
    },
    /// No elements stored (for example a stripped model).
    Absent,
}

/// The element count of a tensor of `dims`, or `None` if a dim is negative
/// or the product overflows `u64`.
pub fn numel(dims: &[i64]) -> Option<u64> {
    dims.iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?))
}

/// A constant tensor: an initializer, or the value of a `Constant` node or
/// tensor attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub dtype: DType,
    pub dims: Vec<i64>,
    pub data: TensorData,
}

impl Tensor {
    /// Element count, or `None` if the declared dims overflow `u64`.
    pub fn numel(&self) -> Option<u64> {
        numel(&self.dims)
    }

    /// Storage size in bytes implied by dims and dtype (rounded up for
    /// packed 4-bit types).
    pub fn nbytes(&self) -> Option<u64> {
        let bits = self.numel()?.checked_mul(self.dtype.bits() as u64)?;
        Some(bits.div_ceil(8))
    }

    /// Where the elements lie, for a tensor stored in an external file and
    /// small enough for shape inference to read (see
    /// [`constant_elements_read`](crate::value::constant_elements_read)): what
    /// the command line reads from the model's folder and the web page from
    /// the files dropped with the model. `None` for any other tensor.
    pub fn small_external(&self) -> Option<ExternalBytes<'_>> {
        let TensorData::External {
            location,
            offset,
            length,
        } = &self.data
        else {
            return None;
        };
        let small = self
            .numel()
            .is_some_and(|n| crate::value::constant_elements_read(self.dtype, n));
        let nbytes = self.nbytes().filter(|_| small)?;
        Some(ExternalBytes {
            location,
            offset: *offset,
            length: *length,
            nbytes,
        })
    }
}

/// The bytes of a small external tensor (see [`Tensor::small_external`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExternalBytes<'a> {
    /// The file, as the model names it.
    pub location: &'a str,
    pub offset: u64,
    /// The length the model states, if it does.
    pub length: Option<u64>,
    /// The length the tensor's dims and dtype need.
    pub nbytes: u64,
}

impl ExternalBytes<'_> {
    /// A stated length must be the one the dims and dtype need.
    pub fn check_length(&self) -> Result<(), String> {
        match self.length {
            Some(len) if len != self.nbytes => Err(format!(
                "length {len} does not match the {} bytes the tensor's dims and dtype need",
                self.nbytes
            )),
            _ => Ok(()),
        }
    }

    /// The end of the bytes, when they lie within a file of `size` bytes.
    pub fn end_within(&self, size: u64) -> Result<u64, String> {
        self.offset
            .checked_add(self.nbytes)
            .filter(|&end| end <= size)
            .ok_or_else(|| {
                format!(
                    "bytes {}..{} lie past the end of the {size}-byte file",
                    self.offset,
                    self.offset.saturating_add(self.nbytes)
                )
            })
    }
}

/// An operator attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    Int(i64),
    Float(f32),
    String(Bytes),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Strings(Vec<Bytes>),
    /// Boxed: a tensor is 88 bytes, and every attribute would be as large.
    Tensor(Box<Tensor>),
    Graph(Box<Graph>),
    Graphs(Vec<Graph>),
    /// A kind nncost does not interpret (sparse tensors, type protos, ...).
    Other,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// A [`Name`]: readers give a graph's equal attribute names (every
    /// Conv's `kernel_shape`) one allocation.
    pub name: Name,
    pub value: AttrValue,
}

/// Index of a value in [`Graph::values`].
pub type ValueId = usize;
/// Index of a node in [`Graph::nodes`].
pub type NodeId = usize;

/// The type a file declares for a value (graph input/output, value_info).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DeclaredType {
    pub dtype: Option<DType>,
    /// `None` when the rank is not declared.
    pub shape: Option<Shape>,
}

/// A named tensor flowing through the graph.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Value {
    pub name: Name,
    // Both boxed: most values are activations with neither, and a graph
    // holds one `Value` per tensor (32 bytes boxed, 128 inline).
    pub declared: Option<Box<DeclaredType>>,
    pub initializer: Option<Box<Tensor>>,
}

/// One operator application.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Node {
    pub name: Name,
    pub op_type: Name,
    /// Operator set domain; the default ONNX domain is the empty string.
    pub domain: Name,
    // Boxed slices, not `Vec`s: a node's lists are complete once read, and
    // a graph holds a million nodes (24 bytes each, and no spare capacity).
    /// Positional inputs; `None` for an omitted optional input.
    pub inputs: Box<[Option<ValueId>]>,
    /// Positional outputs; `None` for an omitted optional output.
    pub outputs: Box<[Option<ValueId>]>,
    pub attributes: Box<[Attribute]>,
    /// Where the node came from, when the file records it (see [`Origin`]);
    /// read through [`Node::origin`].
    pub origin: Option<Arc<Origin>>,
}

/// Where a node came from, as its exporter recorded it. Most nodes of most
/// files have none, so a node holds it behind an `Option<Arc>`: 8 bytes,
/// shared with its report and, in graphs nncost builds, with every node of
/// the same module.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Origin {
    /// The module path the exporter recorded for the node, outermost first
    /// (`layer1`, `layer1.0`, `layer1.0.conv1`: PyTorch's dynamo exporter
    /// writes it as metadata); empty when the file says nothing, and then
    /// the node's name may state it (see `report::module_levels`).
    pub scopes: Shared<Arc<str>>,
    /// The class of each module of `scopes` (`Conv2d`, `Sequential`,
    /// `BertLayer`), as the exporter recorded it; empty when it did not.
    pub module_classes: Shared<Arc<str>>,
    /// The framework operation the node was exported from
    /// (`aten.scaled_dot_product_attention.default`), when recorded.
    pub source_op: String,
}

impl Origin {
    /// What a node without a recorded origin reads.
    pub const NONE: Origin = Origin {
        scopes: Shared::EMPTY,
        module_classes: Shared::EMPTY,
        source_op: String::new(),
    };

    /// `None` when nothing is recorded, so that such nodes hold nothing.
    pub fn shared(self) -> Option<Arc<Origin>> {
        (self != Origin::NONE).then(|| Arc::new(self))
    }

    /// The origin behind a node's or a report's field.
    pub fn of(field: &Option<Arc<Origin>>) -> &Origin {
        static NONE: Origin = Origin::NONE;
        field.as_deref().unwrap_or(&NONE)
    }
}

/// `list` with `item` appended: for builders that grow a node a part at a
/// time (a node read from a file has its lists whole).
pub fn appended<T>(list: &mut Box<[T]>, item: T) {
    let mut grown = std::mem::take(list).into_vec();
    grown.push(item);
    *list = grown.into_boxed_slice();
}

impl Node {
    /// Where the node came from ([`Origin::NONE`] when unrecorded).
    pub fn origin(&self) -> &Origin {
        Origin::of(&self.origin)
    }

    pub fn attr(&self, name: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }

    /// A name for messages: the node's name, or `op_type#index` if unnamed.
    pub fn display_name(&self, index: NodeId) -> String {
        self.shown_name(index).into_owned()
    }

    /// [`Node::display_name`], borrowed when the node is named: a
    /// top-level node's report line's name.
    pub fn shown_name(&self, index: NodeId) -> std::borrow::Cow<'_, str> {
        if self.name.is_empty() {
            std::borrow::Cow::Owned(format!("{}#{index}", self.op_type))
        } else {
            std::borrow::Cow::Borrowed(&self.name)
        }
    }
}

/// Operator set versions the model imports, per domain.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct OpsetImports(pub Vec<(String, i64)>);

impl OpsetImports {
    /// Version for a domain; `""` and `"ai.onnx"` are the same domain.
    pub fn version(&self, domain: &str) -> Option<i64> {
        // Compared in place: this is asked once per node.
        fn canon(d: &str) -> &str {
            if d == "ai.onnx" {
                ""
            } else {
                d
            }
        }
        let want = canon(domain);
        self.0
            .iter()
            .find(|(d, _)| canon(d) == want)
            .map(|(_, v)| *v)
    }
}

/// A computation graph. Nodes may arrive in any order; the analysis sorts
/// them topologically and rejects cycles.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Graph {
    pub name: String,
    pub values: Vec<Value>,
    pub nodes: Vec<Node>,
    /// Graph inputs that are not initializers: what the user feeds.
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
    pub opsets: OpsetImports,
}

impl Graph {
    /// Adds a value and returns its id. Builders are expected to keep names
    /// unique; [`crate::analyze`] reports duplicates.
    pub fn add_value(&mut self, value: Value) -> ValueId {
        self.values.push(value);
        self.values.len() - 1
    }

    pub fn value_name(&self, id: ValueId) -> &str {
        &self.values[id].name
    }
}
