//! The built-in profiles: vendor peak figures, copied from datasheets and
//! whitepapers (see `docs/hardware.md` for the table and the sources).
//!
//! Every peak is dense: where a datasheet prints only the "with sparsity"
//! figure (NVIDIA marks those with an asterisk), it is halved here. A fused
//! multiply-add counts 2 operations, as vendors count it. Where a vendor
//! prints no TFLOPS figure (Apple GPUs, server CPUs) the peak is derived
//! from the facts the vendor does state, and the derivation is written next
//! to the number.
//!
//! Units in the table below: memory in GiB (2^30 bytes, which is what a
//! vendor's "80 GB" of device memory is), bandwidth in GB/s (10^9 bytes/s),
//! peaks in TFLOPS or TOPS (10^12 ops/s).

use super::{HardwareProfile, Precision};
use Precision::{Bf16, Fp16, Fp32, Fp64, Fp8, Int4, Int8, Tf32};

/// A peak the vendor does not print: `units` execution units (cores, or
/// SIMD lanes) × `ops_per_cycle` each × `ghz`, in TFLOPS.
fn derived_tflops(units: f64, ops_per_cycle: f64, ghz: f64) -> f64 {
    units * ops_per_cycle * ghz / 1000.0
}

pub fn builtin_profiles() -> Vec<HardwareProfile> {
    vec![
        // Source: NVIDIA A100 Tensor Core GPU datasheet (40 GB edition).
        // fp64 is the FP64 Tensor Core figure; the sparse figures (624, 1248
        // ...) are not used.
        HardwareProfile::from_datasheet(
            "a100-40gb",
            "NVIDIA A100 40 GB SXM4",
            40.0,
            1555.0,
            &[
                (Fp64, 19.5),
                (Fp32, 19.5),
                (Tf32, 156.0),
                (Fp16, 312.0),
                (Bf16, 312.0),
                (Int8, 624.0),
                (Int4, 1248.0),
            ],
            "NVIDIA A100 Tensor Core GPU datasheet, \
             https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf",
        ),
        // Source: NVIDIA A100 Tensor Core GPU datasheet: same compute as the
        // 40 GB part, HBM2e at 2,039 GB/s.
        HardwareProfile::from_datasheet(
            "a100-80gb",
            "NVIDIA A100 80 GB SXM4",
            80.0,
            2039.0,
            &[
                (Fp64, 19.5),
                (Fp32, 19.5),
                (Tf32, 156.0),
                (Fp16, 312.0),
                (Bf16, 312.0),
                (Int8, 624.0),
                (Int4, 1248.0),
            ],
            "NVIDIA A100 Tensor Core GPU datasheet, \
             https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf",
        ),
        // Source: NVIDIA H100 Tensor Core GPU datasheet (3.35 TB/s, 80 GB)
        // and the NVIDIA H100 Tensor Core GPU Architecture whitepaper, whose
        // table gives the dense tensor figures to one decimal (the datasheet's
        // 1,979* is 2 × 989.4). Hopper has no INT4 tensor path.
        HardwareProfile::from_datasheet(
            "h100-sxm",
            "NVIDIA H100 SXM5 80 GB",
            80.0,
            3350.0,
            &[
                (Fp64, 66.9),
                (Fp32, 66.9),
                (Tf32, 494.7),
                (Fp16, 989.4),
                (Bf16, 989.4),
                (Fp8, 1978.9),
                (Int8, 1978.9),
            ],
            "NVIDIA H100 Tensor Core GPU datasheet, \
             https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet; \
             NVIDIA H100 Tensor Core GPU Architecture whitepaper, \
             https://resources.nvidia.com/en-us-tensor-core/gtc22-whitepaper-hopper",
        ),
        // Source: NVIDIA H100 Tensor Core GPU datasheet (the edition listing
        // H100 PCIe: FP64 Tensor 51, FP32 51, TF32 756*, FP16/BF16 1,513*,
        // FP8/INT8 3,026*, 2 TB/s); the starred sparse figures are halved.
        HardwareProfile::from_datasheet(
            "h100-pcie",
            "NVIDIA H100 PCIe 80 GB",
            80.0,
            2000.0,
            &[
                (Fp64, 51.0),
                (Fp32, 51.0),
                (Tf32, 378.0),
                (Fp16, 756.5),
                (Bf16, 756.5),
                (Fp8, 1513.0),
                (Int8, 1513.0),
            ],
            "NVIDIA H100 Tensor Core GPU datasheet (H100 PCIe column), \
             https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet",
        ),
        // Source: NVIDIA H200 Tensor Core GPU datasheet (H200 SXM column):
        // FP64 Tensor 67, FP32 67, TF32 989*, FP16/BF16 1,979*, FP8/INT8
        // 3,958*, 141 GB at 4.8 TB/s. Sparse figures halved; the silicon is
        // the H100's GH100, so these match `h100-sxm` up to rounding.
        HardwareProfile::from_datasheet(
            "h200",
            "NVIDIA H200 SXM 141 GB",
            141.0,
            4800.0,
            &[
                (Fp64, 67.0),
                (Fp32, 67.0),
                (Tf32, 494.5),
                (Fp16, 989.5),
                (Bf16, 989.5),
                (Fp8, 1979.0),
                (Int8, 1979.0),
            ],
            "NVIDIA H200 Tensor Core GPU datasheet, https://www.nvidia.com/en-us/data-center/h200/",
        ),
        // Source: NVIDIA L4 Tensor Core GPU datasheet: FP32 30.3, TF32 120*,
        // FP16/BF16 242*, FP8/INT8 485*, 24 GB at 300 GB/s. Sparse figures
        // halved. No FP64 or INT4 figure is printed.
        HardwareProfile::from_datasheet(
            "l4",
            "NVIDIA L4 24 GB",
            24.0,
            300.0,
            &[
                (Fp32, 30.3),
                (Tf32, 60.0),
                (Fp16, 121.0),
                (Bf16, 121.0),
                (Fp8, 242.5),
                (Int8, 242.5),
            ],
            "NVIDIA L4 Tensor Core GPU datasheet, https://www.nvidia.com/en-us/data-center/l4/",
        ),
        // Source: NVIDIA T4 Tensor Core GPU datasheet: FP32 8.1, mixed
        // precision (FP16 in, FP32 accumulate) 65, INT8 130, INT4 260, 16 GB
        // GDDR6 at 320 GB/s. Turing has no TF32, BF16 or FP8.
        HardwareProfile::from_datasheet(
            "t4",
            "NVIDIA T4 16 GB",
            16.0,
            320.0,
            &[(Fp32, 8.1), (Fp16, 65.0), (Int8, 130.0), (Int4, 260.0)],
            "NVIDIA T4 Tensor Core GPU datasheet, \
             https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/t4-tensor-core-datasheet-951643.pdf",
        ),
        // Source: NVIDIA Ada GPU Architecture whitepaper, RTX 4090 column.
        // GeForce tensor cores run at half rate with an FP32 accumulator;
        // fp16/bf16/fp8 here are the "with FP32 Accumulate" figures, which is
        // what frameworks use (the FP16-accumulate figures are twice these).
        HardwareProfile::from_datasheet(
            "rtx4090",
            "NVIDIA GeForce RTX 4090 24 GB",
            24.0,
            1008.0,
            &[
                (Fp32, 82.6),
                (Tf32, 82.6),
                (Fp16, 165.2),
                (Bf16, 165.2),
                (Fp8, 330.3),
                (Int8, 660.6),
                (Int4, 1321.2),
            ],
            "NVIDIA Ada GPU Architecture whitepaper, \
             https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf",
        ),
        // Source: AMD Instinct MI300X accelerator data sheet. All peaks are
        // the matrix-core figures: fp64 is Peak FP64 Matrix, fp32 is Peak
        // FP32 Matrix (163.4, the same as the FP32 vector figure). The
        // "with structured sparsity" figures are not used.
        HardwareProfile::from_datasheet(
            "mi300x",
            "AMD Instinct MI300X 192 GB",
            192.0,
            5300.0,
            &[
                (Fp64, 163.4),
                (Fp32, 163.4),
                (Tf32, 653.7),
                (Fp16, 1307.4),
                (Bf16, 1307.4),
                (Fp8, 2614.9),
                (Int8, 2614.9),
            ],
            "AMD Instinct MI300X accelerator data sheet, \
             https://www.amd.com/en/products/accelerators/instinct/mi300/mi300x.html",
        ),
        // Source: Apple newsroom, "Apple unveils M2 Pro and M2 Max" (38-core
        // GPU, 400 GB/s, up to 96 GB). Apple prints no TFLOPS for M2 Max;
        // derived: 38 cores × 128 FP32 ALUs × 2 (FMA) × 1.398 GHz = 13.6
        // TFLOPS. Only the core count is Apple's: 128 ALUs per core is the
        // widely reported core width (it fits Apple's M1 figures, 8 cores and
        // 2.6 TFLOPS, at ~1.27 GHz), and 1.398 GHz is the measured GPU clock
        // (it reproduces the 3.6 TFLOPS quoted for the 10-core M2). FP16 runs
        // at the FP32 rate.
        HardwareProfile::from_datasheet(
            "m2-max",
            "Apple M2 Max (38-core GPU)",
            96.0,
            400.0,
            &[
                (Fp32, derived_tflops(38.0 * 128.0, 2.0, 1.398)),
                (Fp16, derived_tflops(38.0 * 128.0, 2.0, 1.398)),
            ],
            "Apple newsroom, Apple unveils M2 Pro and M2 Max, \
             https://www.apple.com/newsroom/2023/01/apple-unveils-m2-pro-and-m2-max-next-generation-chips-for-next-level-workflows/ \
             (peaks derived: 38 cores x 128 ALUs x 2 x 1.398 GHz)",
        ),
        // Source: Apple newsroom, "Apple unveils M3, M3 Pro, and M3 Max"
        // (40-core GPU, up to 128 GB; 400 GB/s for the 40-core part).
        // Derived as for M2 Max: 40 × 128 × 2 × 1.6 GHz = 16.4 TFLOPS. The
        // clock is not vendor-stated: reports give 1.4 to 1.6 GHz, and the
        // higher keeps the time a lower bound.
        HardwareProfile::from_datasheet(
            "m3-max",
            "Apple M3 Max (40-core GPU)",
            128.0,
            400.0,
            &[
                (Fp32, derived_tflops(40.0 * 128.0, 2.0, 1.6)),
                (Fp16, derived_tflops(40.0 * 128.0, 2.0, 1.6)),
            ],
            "Apple newsroom, Apple unveils M3, M3 Pro, and M3 Max, \
             https://www.apple.com/newsroom/2023/10/apple-unveils-m3-m3-pro-and-m3-max-the-most-advanced-chips-for-a-personal-computer/ \
             (peaks derived: 40 cores x 128 ALUs x 2 x 1.6 GHz, the higher of the clocks reported)",
        ),
        // Source: Intel ARK, Xeon Platinum 8480+ (56 cores, 2.0 GHz base,
        // 8 channels DDR5-4800 = 8 × 8 B × 4.8 GT/s = 307.2 GB/s per socket)
        // and Intel's AMX brief (per core and cycle: 1024 BF16 ops, 2048 INT8
        // ops). Derived at the 3.8 GHz maximum turbo clock ARK states, one
        // socket: a peak no run can pass, so the time stays a lower bound
        // (heavy AVX-512 and AMX work runs at lower clocks):
        //   fp64: 2 AVX-512 FMA units × 8 lanes × 2 = 32 ops/cycle/core
        //   fp32: 2 × 16 lanes × 2 = 64; fp16 (AVX512-FP16): 2 × 32 × 2 = 128
        //   bf16 (AMX): 1024; int8 (AMX): 2048.
        // Memory is 0: host memory is whatever the server holds.
        HardwareProfile::from_datasheet(
            "xeon-8480",
            "Intel Xeon Platinum 8480+ (56 cores, AMX)",
            0.0,
            307.2,
            &[
                (Fp64, derived_tflops(56.0, 32.0, 3.8)),
                (Fp32, derived_tflops(56.0, 64.0, 3.8)),
                (Fp16, derived_tflops(56.0, 128.0, 3.8)),
                (Bf16, derived_tflops(56.0, 1024.0, 3.8)),
                (Int8, derived_tflops(56.0, 2048.0, 3.8)),
            ],
            "Intel ARK, Intel Xeon Platinum 8480+ Processor, \
             https://www.intel.com/content/www/us/en/products/sku/231746/intel-xeon-platinum-8480-processor-105m-cache-2-00-ghz/specifications.html; \
             Intel AMX, https://www.intel.com/content/www/us/en/products/docs/accelerator-engines/advanced-matrix-extensions/overview.html \
             (peaks derived at the 3.8 GHz maximum turbo clock)",
        ),
        // Source: AMD EPYC 9654 product page (96 Zen 4 cores, 3.55 GHz
        // all-core boost, 12 channels DDR5-4800, 460.8 GB/s per socket).
        // Derived at the all-core boost clock (the most all cores run at):
        // Zen 4 has two 256-bit FMA pipes, so 16 fp64 and 32 fp32 ops per
        // cycle and core. No low-precision peak is derived.
        HardwareProfile::from_datasheet(
            "epyc-9654",
            "AMD EPYC 9654 (96 cores)",
            0.0,
            460.8,
            &[
                (Fp64, derived_tflops(96.0, 16.0, 3.55)),
                (Fp32, derived_tflops(96.0, 32.0, 3.55)),
            ],
            "AMD EPYC 9654 product page, \
             https://www.amd.com/en/products/processors/server/epyc/4th-generation-9004-and-8004-series/amd-epyc-9654.html \
             (peaks derived at the 3.55 GHz all-core boost clock)",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(id: &str) -> HardwareProfile {
        builtin_profiles()
            .into_iter()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("no built-in profile {id}"))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs()
    }

    #[test]
    fn ids_are_unique_and_lowercase() {
        let profiles = builtin_profiles();
        let mut ids: Vec<&str> = profiles.iter().map(|p| p.id.as_str()).collect();
        for id in &ids {
            assert!(!id.is_empty());
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{id}"
            );
        }
        ids.sort();
        let count = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), count, "duplicate ids");
    }

    #[test]
    fn every_profile_has_a_peak_and_a_bandwidth() {
        for p in builtin_profiles() {
            assert!(p.bandwidth > 0.0, "{}", p.id);
            assert!(
                p.peak(Precision::Fp32).is_some() || p.peak(Precision::Fp16).is_some(),
                "{}",
                p.id
            );
            for &(precision, ops) in &p.peaks {
                assert!(ops > 0.0, "{} {}", p.id, precision.name());
            }
            assert!(
                !p.name.is_empty() && p.source.contains("https://"),
                "{}",
                p.id
            );
        }
    }

    #[test]
    fn h100_sxm_is_dense() {
        let h100 = find("h100-sxm");
        assert!(close(h100.peak(Precision::Bf16).unwrap(), 989.4e12));
        assert!(close(h100.peak(Precision::Fp8).unwrap(), 1978.9e12));
        assert!(close(h100.bandwidth, 3.35e12));
        assert_eq!(h100.memory_bytes, 80 << 30);
        assert_eq!(h100.peak(Precision::Int4), None);
    }

    #[test]
    fn a100_80gb_bandwidth() {
        let a100 = find("a100-80gb");
        assert!(close(a100.bandwidth, 2.039e12));
        assert!(close(a100.peak(Precision::Fp16).unwrap(), 312e12));
        assert_eq!(a100.peak(Precision::Fp8), None);
    }

    #[test]
    fn t4_has_no_bf16() {
        let t4 = find("t4");
        assert_eq!(t4.peak(Precision::Bf16), None);
        assert_eq!(t4.peak(Precision::Tf32), None);
        assert!(close(t4.peak(Precision::Fp16).unwrap(), 65e12));
    }

    #[test]
    fn derived_peaks() {
        // 56 cores × 1024 BF16 ops × 2.0 GHz.
        let xeon = find("xeon-8480");
        // 56 cores × 1,024 × 3.8 GHz.
        assert!(close(xeon.peak(Precision::Bf16).unwrap(), 217.9072e12));
        assert_eq!(xeon.memory_bytes, 0);
        // 38 × 128 × 2 × 1.398 GHz.
        let m2 = find("m2-max");
        assert!(close(m2.peak(Precision::Fp32).unwrap(), 13.599744e12));
    }
}
