//! Encoders from their `config.json`: BERT and RoBERTa over token ids, ViT
//! and CLIP's vision tower over images. Attention sees every position (no
//! causal mask), so there is one pass: `batch` sequences of `seq` tokens,
//! or `batch` images of the config's size.

use nncost_core::graph::ValueId;
use nncost_core::layers::builder;
use nncost_core::shape::Dim;

use crate::config::{Config, MAX_LAYERS};
use crate::net::{Act, Net, Norm, TensorRole};
use crate::Error;

pub const MODEL_TYPES: &[&str] = &["bert", "roberta", "vit", "clip_vision_model", "clip"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// BERT and RoBERTa (`BertModel`, `RobertaModel`, with the pooler).
    Text,
    /// `ViTModel`, with the pooler.
    Vit,
    /// `CLIPVisionModel`.
    ClipVision,
}

#[derive(Clone, Debug)]
pub struct Encoder {
    kind: Kind,
    hidden: i64,
    layers: usize,
    heads: i64,
    inner: i64,
    act: Act,
    vocab: i64,
    positions: i64,
    type_vocab: i64,
    image: i64,
    patch: i64,
    channels: i64,
    pooler: bool,
}

impl Encoder {
    pub fn from_config(c: &Config) -> Result<Encoder, Error> {
        let kind = match c.model_type.as_str() {
            "bert" | "roberta" => Kind::Text,
            "vit" => Kind::Vit,
            _ => Kind::ClipVision,
        };
        // A whole CLIP config: its vision tower.
        let vision;
        let c = if c.model_type == "clip" {
            vision = c.sub("vision_config").ok_or_else(|| {
                Error::Config("a \"clip\" config without \"vision_config\"".into())
            })?;
            &Config {
                json: vision,
                model_type: "clip_vision_model".into(),
            }
        } else {
            c
        };
        let hidden = c.size(&["hidden_size"])?;
        let layers = c.size(&["num_hidden_layers"])?;
        if layers > MAX_LAYERS {
            return Err(Error::Config(format!(
                "{layers} layers is more than the {MAX_LAYERS} nncost reads"
            )));
        }
        let heads = c.size(&["num_attention_heads"])?;
        if hidden % heads != 0 {
            return Err(Error::Config(format!(
                "hidden size {hidden} is not divisible by {heads} heads"
            )));
        }
        let act_name = c.string("hidden_act")?.unwrap_or(match kind {
            Kind::ClipVision => "quick_gelu",
            _ => "gelu",
        });
        let act = Act::parse(act_name)
            .ok_or_else(|| Error::Config(format!("activation \"{act_name}\" is not supported")))?;
        let (image, patch) = match kind {
            Kind::Text => (0, 1),
            _ => (c.size(&["image_size"])?, c.size(&["patch_size"])?),
        };
        if kind != Kind::Text && image % patch != 0 {
            return Err(Error::Config(format!(
                "image size {image} is not a multiple of the patch size {patch}"
            )));
        }
        Ok(Encoder {
            kind,
            hidden,
            layers: layers as usize,
            heads,
            inner: c.size_or(&["intermediate_size"], 4 * hidden)?,
            act,
            vocab: if kind == Kind::Text {
                c.size(&["vocab_size"])?
            } else {
                0
            },
            positions: c.size_or(&["max_position_embeddings"], 512)?,
            type_vocab: c.size_or(&["type_vocab_size"], 2)?,
            image,
            patch,
            channels: c.size_or(&["num_channels"], 3)?,
            pooler: kind != Kind::ClipVision,
        })
    }

    pub(crate) fn build(&self, net: &mut Net) -> Result<(), Error> {
        let batch = Dim::sym("batch");
        let h = self.hidden;
        let norm = Norm::Layer { bias: true };
        let mut x = match self.kind {
            Kind::Text => {
                let seq = Dim::sym("seq");
                let ids = net.int_input("input_ids", vec![batch.clone(), seq.clone()]);
                let types = net.int_input("token_type_ids", vec![batch.clone(), seq.clone()]);
                let positions = net.int_input("position_ids", vec![batch, seq]);
                net.enter("embeddings", "Embeddings");
                let (w, _) = net.embedding(ids, "word_embeddings", self.vocab, h);
                let (p, _) = net.embedding(positions, "position_embeddings", self.positions, h);
                let (t, _) = net.embedding(types, "token_type_embeddings", self.type_vocab, h);
                let wp = net.add(w, p);
                let x = net.add(wp, t);
                let x = net.norm(x, "LayerNorm", h, norm);
                net.leave();
                x
            }
            Kind::Vit | Kind::ClipVision => self.patches(net, batch),
        };
        let blocks = match self.kind {
            Kind::Text => "encoder.layer",
            Kind::Vit => "layers",
            Kind::ClipVision => "encoder.layers",
        };
        for i in 0..self.layers {
            net.enter(&format!("{blocks}.{i}"), "EncoderLayer");
            x = self.block(net, x);
            net.leave();
        }
        let first = |net: &mut Net, x: ValueId| {
            let zero = net.ints(&[0]);
            let t = net.op(
                "Gather",
                &[Some(x), Some(zero)],
                vec![builder::int("axis", 1)],
            );
            net.reshape(t, &[0, -1])
        };
        match self.kind {
            Kind::Text => {}
            Kind::Vit => x = net.norm(x, "layernorm", h, norm),
            Kind::ClipVision => {
                // The pooled output: the class token, normalised.
                let cls = first(net, x);
                x = net.norm(cls, "post_layernorm", h, norm);
            }
        }
        if self.pooler {
            net.enter("pooler", "Pooler");
            let cls = first(net, x);
            let y = net.linear(cls, "dense", h, h, true);
            x = net.op("Tanh", &[Some(y)], vec![]);
            net.leave();
        }
        net.output(x);
        Ok(())
    }

    /// Image → patch tokens with the class token in front and positions
    /// added: `[batch, patches + 1, hidden]`.
    fn patches(&self, net: &mut Net, batch: Dim) -> ValueId {
        let (h, p) = (self.hidden, self.patch);
        let side = Dim::int(self.image);
        let pixels = net.input(
            "pixel_values",
            vec![batch, Dim::int(self.channels), side.clone(), side],
        );
        let tokens = (self.image / p) * (self.image / p) + 1;
        net.enter("embeddings", "Embeddings");
        let clip = self.kind == Kind::ClipVision;
        let conv_name = if clip {
            "patch_embedding"
        } else {
            "patch_embeddings.projection"
        };
        net.enter(conv_name, "Conv2d");
        let kernel = [h, self.channels, p, p];
        let w = net.tensor("weight", &kernel, &kernel, TensorRole::Weight);
        let b = (!clip).then(|| net.tensor("bias", &[h], &[h], TensorRole::Weight));
        let y = net.op(
            "Conv",
            &[Some(pixels), Some(w), b],
            vec![
                builder::ints("kernel_shape", &[p, p]),
                builder::ints("strides", &[p, p]),
            ],
        );
        net.leave();
        let y = net.reshape(y, &[0, h, -1]);
        let y = net.op(
            "Transpose",
            &[Some(y)],
            vec![builder::ints("perm", &[0, 2, 1])],
        );
        // The class token, one per image: its table broadcast over the batch.
        let cls_shape: &[i64] = if clip { &[h] } else { &[1, 1, h] };
        let cls_name = if clip { "class_embedding" } else { "cls_token" };
        let cls = net.tensor(cls_name, cls_shape, cls_shape, TensorRole::Weight);
        let cls = net.reshape(cls, &[1, 1, h]);
        let dims = net.op("Shape", &[Some(y)], vec![]);
        let zero = net.ints(&[0]);
        let batch_dim = net.op("Gather", &[Some(dims), Some(zero)], vec![]);
        let rest = net.ints(&[1, h]);
        let target = net.op(
            "Concat",
            &[Some(batch_dim), Some(rest)],
            vec![builder::int("axis", 0)],
        );
        let cls = net.op("Expand", &[Some(cls), Some(target)], vec![]);
        let x = net.op(
            "Concat",
            &[Some(cls), Some(y)],
            vec![builder::int("axis", 1)],
        );
        let x = if clip {
            let positions: Vec<i64> = (0..tokens).collect();
            let ids = net.ints(&positions);
            let (pos, _) = net.embedding(ids, "position_embedding", tokens, h);
            net.add(x, pos)
        } else {
            let shape = [1, tokens, h];
            let pos = net.tensor("position_embeddings", &shape, &shape, TensorRole::Weight);
            net.add(x, pos)
        };
        net.leave();
        if clip {
            net.norm(x, "pre_layrnorm", h, Norm::Layer { bias: true })
        } else {
            x
        }
    }

    fn block(&self, net: &mut Net, x: ValueId) -> ValueId {
        let (h, i) = (self.hidden, self.inner);
        let norm = Norm::Layer { bias: true };
        let attend = |net: &mut Net, x: ValueId, names: [&str; 4]| {
            let q = net.linear(x, names[0], h, h, true);
            let k = net.linear(x, names[1], h, h, true);
            let v = net.linear(x, names[2], h, h, true);
            let y = net.op(
                "Attention",
                &[Some(q), Some(k), Some(v)],
                vec![
                    builder::int("q_num_heads", self.heads),
                    builder::int("kv_num_heads", self.heads),
                ],
            );
            net.linear(y, names[3], h, h, true)
        };
        match self.kind {
            Kind::Text => {
                net.enter("attention", "Attention");
                net.enter("self", "SelfAttention");
                let q = net.linear(x, "query", h, h, true);
                let k = net.linear(x, "key", h, h, true);
                let v = net.linear(x, "value", h, h, true);
                let a = net.op(
                    "Attention",
                    &[Some(q), Some(k), Some(v)],
                    vec![
                        builder::int("q_num_heads", self.heads),
                        builder::int("kv_num_heads", self.heads),
                    ],
                );
                net.leave();
                net.enter("output", "SelfOutput");
                let a = net.linear(a, "dense", h, h, true);
                let a = net.add(a, x);
                let x = net.norm(a, "LayerNorm", h, norm);
                net.leave();
                net.leave();
                net.enter("intermediate", "Intermediate");
                let m = net.linear(x, "dense", h, i, true);
                let m = net.activation(m, self.act);
                net.leave();
                net.enter("output", "Output");
                let m = net.linear(m, "dense", i, h, true);
                let m = net.add(m, x);
                let y = net.norm(m, "LayerNorm", h, norm);
                net.leave();
                y
            }
            Kind::Vit | Kind::ClipVision => {
                let vit = self.kind == Kind::Vit;
                let (n1, n2) = if vit {
                    ("layernorm_before", "layernorm_after")
                } else {
                    ("layer_norm1", "layer_norm2")
                };
                let a = net.norm(x, n1, h, norm);
                let (module, out) = if vit {
                    ("attention", "o_proj")
                } else {
                    ("self_attn", "out_proj")
                };
                net.enter(module, "Attention");
                let a = attend(net, a, ["q_proj", "k_proj", "v_proj", out]);
                net.leave();
                let x = net.add(x, a);
                let m = net.norm(x, n2, h, norm);
                net.enter("mlp", "MLP");
                let m = net.linear(m, "fc1", h, i, true);
                let m = net.activation(m, self.act);
                let m = net.linear(m, "fc2", i, h, true);
                net.leave();
                net.add(x, m)
            }
        }
    }
}
