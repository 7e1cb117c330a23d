//! Operator rules. Each family module holds, for each of its operators, the
//! shape rule and the cost rule in one function, and lists them in its
//! `OPS` table; adding an operator is one edit in one file.
//!
//! A rule reads its inputs' facts through [`NodeCtx`], sets its outputs'
//! facts, and adds its MACs and FLOPs. Parameters are not counted by rules:
//! the engine counts them from the input [`Role`]s declared in the table.

use std::sync::OnceLock;

use crate::cost::Cost;
use crate::fxhash::FxHashMap;
use crate::graph::{AttrValue, DType, Node};
use crate::poly::{Overflow, Poly};
use crate::shape::{self, Dim, Shape, ShapeError, SharedShape};
use crate::symbols::{symbol_base, DataSize, SymbolScope};
use crate::value::{ConstValue, ValueFacts};

/// An operator of the default domain in a family's `OPS` table: name,
/// rule, input roles, cost line. Defined before the family modules so they
/// all see it.
macro_rules! op {
    ($name:literal, $rule:path, $roles:expr, $doc:expr) => {
        OpDef {
            op_type: $name,
            domain: "",
            rule: $rule,
            roles: $roles,
            cost_doc: $doc,
        }
    };
}

pub mod attention;
pub mod checkpoint;
pub mod contrib;
pub mod control;
pub mod conv;
pub mod elementwise;
pub mod matmul;
pub mod ml;
pub mod moe;
pub mod norm;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod resize;
pub mod sequence;
pub mod softmax;
pub mod tensor;
pub mod text;
pub mod window;

/// How an initializer feeding an input position is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An activation or operand. A float initializer here is a learned
    /// tensor and counts as parameters (a bias added by `Add`, ConvNeXt's
    /// layer scale in `Mul`, an embedding table in `Gather`), unless it has a
    /// single element: a scalar such as the √d of attention scaling is a
    /// constant of the formula, not a parameter.
    Data,
    /// An operand of arithmetic whose elements the rule reads only when it
    /// knows every operand's: elementwise arithmetic and comparisons fold
    /// constants only then, a matrix product never. Its initializers count
    /// as at a [`Role::Data`] position. When some operand is wholly unknown
    /// (neither elements nor a pattern, see [`crate::mask`]), the others'
    /// elements are left out of what the rule sees, so that nodes differing
    /// only in a small constant operand (a bias of 8 elements) share one
    /// remembered result.
    Operand,
    /// Weights or biases: always parameters.
    Weight,
    /// Non-trainable state such as BatchNormalization's running statistics.
    Buffer,
    /// Shapes, axes, scales, bounds, pads: never parameters.
    Config,
    /// A weight packed below one element per stored element (the 4-bit
    /// `B` of `MatMulNBits`, two weights per byte): parameters are its
    /// logical elements, which the rule states with
    /// [`NodeCtx::set_logical_elements`]; its bytes are those stored.
    Packed,
}

impl Role {
    /// Whether a rule is shown only the shape of a constant here, never
    /// its elements: weights, packed weights and buffers are sized and
    /// counted, not computed with. Nodes that differ only in their weights
    /// then share one remembered result, and a weight's elements need not
    /// be decoded at all (`Inits::elements_shown` in the analysis).
    pub fn shape_only(self) -> bool {
        matches!(self, Role::Weight | Role::Buffer | Role::Packed)
    }
}

/// A rule's verdict when it cannot produce facts or a cost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// Facts about an input are missing; not a defect of the model.
    #[error("shape of input {index} ('{name}') is unknown")]
    UnknownInput { index: usize, name: String },
    /// A required input is absent.
    #[error("required input {0} is missing")]
    MissingInput(usize),
    /// The model is inconsistent for this operator.
    #[error("{0}")]
    Invalid(String),
    /// Needed facts depend on run-time values nncost cannot know.
    #[error("{0}")]
    DataDependent(String),
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

impl OpError {
    /// The report's kind of incompleteness (overflow never reaches a
    /// report: it is an analysis error).
    pub fn kind(&self) -> crate::report::IncompleteKind {
        use crate::report::IncompleteKind as K;
        match self {
            OpError::UnknownInput { .. } => K::UnknownInput,
            OpError::MissingInput(_) => K::MissingInput,
            OpError::DataDependent(_) => K::DataDependent,
            OpError::Invalid(_) | OpError::Overflow(_) => K::Invalid,
        }
    }
}

impl From<ShapeError> for OpError {
    fn from(e: ShapeError) -> Self {
        match e {
            ShapeError::Overflow(o) => OpError::Overflow(o),
            other => OpError::Invalid(other.to_string()),
        }
    }
}

pub type RuleResult = Result<(), OpError>;

/// One operator: its identity, its rule, and how its inputs' initializers
/// count.
pub struct OpDef {
    pub op_type: &'static str,
    /// Operator-set domain; `""` is the default ONNX domain.
    pub domain: &'static str,
    pub rule: fn(&mut NodeCtx) -> RuleResult,
    /// Roles by input position; positions past the end are [`Role::Data`].
    pub roles: &'static [Role],
    /// One line on how the cost is computed, for generated docs.
    pub cost_doc: &'static str,
}

impl OpDef {
    pub fn role(&self, input: usize) -> Role {
        self.roles.get(input).copied().unwrap_or(Role::Data)
    }
}

/// Every family's table.
fn families() -> [&'static [OpDef]; 18] {
    [
        attention::OPS,
        checkpoint::OPS,
        contrib::OPS,
        control::OPS,
        conv::OPS,
        elementwise::OPS,
        matmul::OPS,
        ml::OPS,
        moe::OPS,
        norm::OPS,
        pool::OPS,
        quant::OPS,
        reduce::OPS,
        resize::OPS,
        sequence::OPS,
        softmax::OPS,
        tensor::OPS,
        text::OPS,
    ]
}

/// Normalises a domain name: `ai.onnx` is the default domain `""`.
pub fn canonical_domain(domain: &str) -> &str {
    if domain == "ai.onnx" {
        ""
    } else {
        domain
    }
}

/// Looks up the rule for an operator.
pub fn lookup(domain: &str, op_type: &str) -> Option<&'static OpDef> {
    static REGISTRY: OnceLock<FxHashMap<(&'static str, &'static str), &'static OpDef>> =
        OnceLock::new();
    let reg = REGISTRY.get_or_init(|| {
        families()
            .into_iter()
            .flatten()
            .map(|d| ((d.domain, d.op_type), d))
            .collect()
    });
    reg.get(&(canonical_domain(domain), op_type)).copied()
}

/// All registered operators, for documentation and coverage tables.
pub fn all_ops() -> impl Iterator<Item = &'static OpDef> {
    families().into_iter().flatten()
}

/// How a node touches its first input's storage, for memory traffic and
/// liveness. Most operators read every input in full and write fresh
/// outputs; the rule of an operator that does not says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Access {
    /// Every input read in full; outputs written to new storage.
    #[default]
    Full,
    /// Output 0 is input 0 under another shape (Reshape, Flatten,
    /// Squeeze, Unsqueeze, Identity, Dropout at inference): a runtime
    /// shares the storage, so nothing is read, written or allocated.
    View,
    /// Input 0 is read only where output 0 takes its elements from
    /// (Gather, Slice): as many bytes as output 0 holds, not the whole
    /// tensor (an embedding lookup reads its rows, not the table).
    Selects,
    /// Input 0's shape is read, never its elements (Shape, Size).
    Metadata,
}

/// What a rule sees of one node, and where it writes its results.
pub struct NodeCtx<'a> {
    pub node: &'a Node,
    /// Opset version of the node's domain (the latest known if the model
    /// does not say).
    pub opset: i64,
    pub(crate) input_facts: Vec<Option<&'a ValueFacts>>,
    pub(crate) input_names: Vec<&'a str>,
    pub(crate) outputs: Vec<ValueFacts>,
    /// What the rule counts, added to by `add_macs`, `add_flops` and
    /// `add_int_ops` (integer operations of quantized kernels, kept apart
    /// from FLOPs).
    pub(crate) cost: Cost,
    /// Logical element counts of [`Role::Packed`] inputs, by position.
    pub(crate) logical_elements: Vec<(usize, u64)>,
    /// Where data symbols are named (`None` in isolated rule tests).
    pub(crate) symbols: Option<SymbolScope<'a>>,
    /// How the node touches input 0 (see [`Access`]).
    pub access: Access,
    /// The two inputs whose products the node's MACs are (a convolution's
    /// data and filter, a matrix product's operands): each of them that
    /// needs a gradient costs the same MACs again in the backward pass.
    /// Input positions of a byte each: every rule's operands are among a
    /// node's first inputs, and each report line keeps the pair.
    pub products: Option<(u8, u8)>,
    /// Whether the rule named a size after this node
    /// ([`NodeCtx::data_dim`]): its result is then the node's own.
    pub(crate) named_data: bool,
}

impl<'a> NodeCtx<'a> {
    pub fn new(
        node: &'a Node,
        opset: i64,
        input_facts: Vec<Option<&'a ValueFacts>>,
        input_names: Vec<&'a str>,
    ) -> Self {
        let outputs = vec![ValueFacts::default(); node.outputs.len()];
        NodeCtx {
            node,
            opset,
            input_facts,
            input_names,
            outputs,
            cost: Cost::ZERO,
            logical_elements: Vec::new(),
            symbols: None,
            named_data: false,
            access: Access::Full,
            products: None,
        }
    }

    /// Whether `d` involves a size that depends on data (a data symbol of
    /// this analysis): such a size may be anything up to its bound, so
    /// clamps on it must be exact rather than assume the model's intent.
    pub fn depends_on_data(&self, d: &Dim) -> bool {
        let (Some(scope), Some(p)) = (&self.symbols, d.poly()) else {
            return false;
        };
        let syms = p.symbols();
        !syms.is_empty() && scope.table.borrow().is_data(&syms)
    }

    /// A size known only at run time (it depends on the values this node
    /// reads): the node's data symbol for `request` (see
    /// [`crate::symbols`]), or its value if the user bound it.
    pub fn data_dim(&mut self, request: DataSize) -> Dim {
        self.named_data = true;
        let Some(scope) = &self.symbols else {
            return Dim::sym(&symbol_base(&self.node.name, request.key));
        };
        let output = self
            .node
            .outputs
            .get(request.output)
            .copied()
            .flatten()
            .map_or("", |v| scope.values[v].name.as_str());
        let size = scope
            .table
            .borrow_mut()
            .size(scope.node, &self.node.op_type, output, request);
        Dim::Known(size)
    }

    // ----- inputs -------------------------------------------------------

    pub fn num_inputs(&self) -> usize {
        self.input_facts.len()
    }

    /// Whether optional input `i` is given.
    pub fn has_input(&self, i: usize) -> bool {
        matches!(self.input_facts.get(i), Some(Some(_)))
    }

    pub fn input(&self, i: usize) -> Result<&'a ValueFacts, OpError> {
        match self.input_facts.get(i) {
            Some(Some(f)) => Ok(f),
            _ => Err(OpError::MissingInput(i)),
        }
    }

    /// The error for input `i` whose shape, or a dimension of it, is
    /// unknown.
    pub fn unknown_input(&self, i: usize) -> OpError {
        OpError::UnknownInput {
            index: i,
            name: self.input_names.get(i).copied().unwrap_or("").to_string(),
        }
    }

    /// Dimension `d` of input `i` as a polynomial, or the unknown-input
    /// error.
    pub fn known_dim(&self, i: usize, d: &Dim) -> Result<Poly, OpError> {
        d.poly().cloned().ok_or_else(|| self.unknown_input(i))
    }

    /// Shape of input `i`; an error if absent or unknown.
    pub fn shape(&self, i: usize) -> Result<&'a [Dim], OpError> {
        self.input(i)?
            .shape
            .as_deref()
            .ok_or_else(|| self.unknown_input(i))
    }

    /// Rank of input `i`.
    pub fn rank(&self, i: usize) -> Result<usize, OpError> {
        Ok(self.shape(i)?.len())
    }

    /// Shape of input `i` with every dimension known (possibly symbolic).
    pub fn known_shape(&self, i: usize) -> Result<Vec<Poly>, OpError> {
        self.shape(i)?
            .iter()
            .map(|d| d.poly().cloned().ok_or_else(|| self.unknown_input(i)))
            .collect()
    }

    pub fn dtype(&self, i: usize) -> Option<DType> {
        self.input(i).ok().and_then(|f| f.dtype)
    }

    /// Known elements of input `i`, if tracked.
    pub fn value(&self, i: usize) -> Option<&'a ConstValue> {
        self.input(i).ok().and_then(|f| f.value.as_ref())
    }

    /// Elements of input `i`, if it is a sequence whose elements are known.
    pub fn input_sequence(&self, i: usize) -> Option<&'a [ValueFacts]> {
        self.input(i).ok().and_then(|f| f.sequence.as_deref())
    }

    /// Concrete integer elements of input `i`, if known.
    pub fn ints_value(&self, i: usize) -> Option<Vec<i64>> {
        self.value(i).and_then(ConstValue::to_i64s)
    }

    /// Number of elements of input `i`, symbolic; error if unknown.
    pub fn numel(&self, i: usize) -> Result<Poly, OpError> {
        shape::numel(self.shape(i)?)?.ok_or_else(|| self.unknown_input(i))
    }

    // ----- attributes ---------------------------------------------------

    pub fn attr(&self, name: &str) -> Option<&'a AttrValue> {
        self.node.attr(name)
    }

    pub fn attr_int(&self, name: &str, default: i64) -> Result<i64, OpError> {
        match self.attr(name) {
            None => Ok(default),
            Some(AttrValue::Int(v)) => Ok(*v),
            Some(_) => Err(self.bad_attr(name, "an integer")),
        }
    }

    /// A 0/1 switch attribute (`transA`, `channels_last`, …); any other
    /// value is an error, not silently true.
    pub fn attr_flag(&self, name: &str, default: bool) -> Result<bool, OpError> {
        match self.attr_int(name, i64::from(default))? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(OpError::Invalid(format!(
                "attribute '{name}' must be 0 or 1, got {v}"
            ))),
        }
    }

    pub fn attr_float(&self, name: &str, default: f32) -> Result<f32, OpError> {
        match self.attr(name) {
            None => Ok(default),
            Some(AttrValue::Float(v)) => Ok(*v),
            Some(AttrValue::Int(v)) => Ok(*v as f32),
            Some(_) => Err(self.bad_attr(name, "a float")),
        }
    }

    pub fn attr_ints(&self, name: &str) -> Result<Option<&'a [i64]>, OpError> {
        match self.attr(name) {
            None => Ok(None),
            Some(AttrValue::Ints(v)) => Ok(Some(v)),
            Some(_) => Err(self.bad_attr(name, "a list of integers")),
        }
    }

    pub fn attr_floats(&self, name: &str) -> Result<Option<&'a [f32]>, OpError> {
        match self.attr(name) {
            None => Ok(None),
            Some(AttrValue::Floats(v)) => Ok(Some(v)),
            Some(_) => Err(self.bad_attr(name, "a list of floats")),
        }
    }

    pub fn attr_str(&self, name: &str) -> Result<Option<&'a str>, OpError> {
        match self.attr(name) {
            None => Ok(None),
            Some(AttrValue::String(b)) => std::str::from_utf8(b)
                .map(Some)
                .map_err(|_| self.bad_attr(name, "UTF-8 text")),
            Some(_) => Err(self.bad_attr(name, "a string")),
        }
    }

    fn bad_attr(&self, name: &str, want: &str) -> OpError {
        OpError::Invalid(format!("attribute '{name}' should be {want}"))
    }

    // ----- outputs and cost ----------------------------------------------

    pub fn num_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Sets dtype and shape of output `i` (ignored if the output is absent).
    pub fn set_output(&mut self, i: usize, dtype: Option<DType>, shape: Shape) {
        if i < self.outputs.len() {
            let shape = self.share(shape);
            let o = &mut self.outputs[i];
            o.dtype = dtype;
            o.shape = Some(shape);
        }
    }

    /// Sets dtype and shape of output `i` to a shape already shared.
    pub fn set_output_shared(&mut self, i: usize, dtype: Option<DType>, shape: SharedShape) {
        if let Some(o) = self.outputs.get_mut(i) {
            o.dtype = dtype;
            o.shape = Some(shape);
        }
    }

    /// `shape` as a shared one: an input's own when it has the same shape
    /// (an elementwise op's output, most broadcasts), so that a chain of
    /// such ops holds one copy of its shape, not one per value.
    fn share(&self, shape: Shape) -> SharedShape {
        self.input_facts
            .iter()
            .flatten()
            .filter_map(|f| f.shape.as_ref())
            .find(|s| **s == shape)
            .cloned()
            .unwrap_or_else(|| shape.into())
    }

    /// Sets dtype only, for outputs whose shape cannot be known.
    pub fn set_output_dtype(&mut self, i: usize, dtype: Option<DType>) {
        if let Some(o) = self.outputs.get_mut(i) {
            o.dtype = dtype;
        }
    }

    /// Records the known elements of output `i`.
    pub fn set_output_value(&mut self, i: usize, value: ConstValue) {
        if let Some(o) = self.outputs.get_mut(i) {
            o.value = Some(value);
        }
    }

    /// Records the elements of sequence output `i` (its dtype and shape,
    /// the elements' common type, are set with [`NodeCtx::set_output`]).
    pub fn set_output_sequence(&mut self, i: usize, elements: Vec<ValueFacts>) {
        if let Some(o) = self.outputs.get_mut(i) {
            o.sequence = Some(elements.into());
        }
    }

    /// Output `i` mirrors input `j` (dtype and shape; value too).
    pub fn pass_through(&mut self, i: usize, j: usize) -> RuleResult {
        let f = self.input(j)?.clone();
        if let Some(o) = self.outputs.get_mut(i) {
            *o = f;
        }
        Ok(())
    }

    pub fn output_shape(&self, i: usize) -> Option<&[Dim]> {
        self.outputs.get(i).and_then(|o| o.shape.as_deref())
    }

    pub fn add_macs(&mut self, macs: &Poly) -> RuleResult {
        self.cost.macs = self.cost.macs.checked_add(macs)?;
        Ok(())
    }

    pub fn add_flops(&mut self, flops: &Poly) -> RuleResult {
        self.cost.flops = self.cost.flops.checked_add(flops)?;
        Ok(())
    }

    /// Adds integer operations (see [`NodeCtx::int_ops`]).
    pub fn add_int_ops(&mut self, ops: &Poly) -> RuleResult {
        self.cost.int_ops = self.cost.int_ops.checked_add(ops)?;
        Ok(())
    }

    /// Integer operations added so far.
    pub fn int_ops(&self) -> &Poly {
        &self.cost.int_ops
    }

    /// States how many weights the [`Role::Packed`] input `input` holds.
    pub fn set_logical_elements(&mut self, input: usize, elements: u64) {
        self.logical_elements.retain(|&(i, _)| i != input);
        self.logical_elements.push((input, elements));
    }

    /// What the rule counted, taken out of the context.
    pub(crate) fn take_cost(&mut self) -> Cost {
        std::mem::take(&mut self.cost)
    }

    /// Adds `per_element × n` FLOPs.
    pub fn add_flops_per(&mut self, n: &Poly, per_element: i128) -> RuleResult {
        self.add_flops(&n.checked_scale(per_element)?)
    }
}

/// Product of a list of polynomials, checked.
pub fn product<'p>(items: impl IntoIterator<Item = &'p Poly>) -> Result<Poly, Overflow> {
    items
        .into_iter()
        .try_fold(Poly::constant(1), |acc, p| acc.checked_mul(p))
}

#[cfg(test)]
pub(crate) mod testing;
