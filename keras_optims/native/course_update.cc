// One TensorFlow CPU kernel that applies a course rule to many variables at
// once (a "multi-tensor" update): every variable, its slots and its gradient
// are read once and written once, on all of TensorFlow's CPU worker threads,
// with the widest vector instructions the CPU has (see Isa below).
// keras_optims/native/build.py builds it (and says how), native/__init__.py
// calls it; keras_optims/rules.py's records name the entry of each rule.
//
// Element-wise, in the variable's dtype T, with per-step scalars computed in
// float64 by the caller and rounded once to T here (the same expressions, in
// the same order, as keras_optims/rules.py; b is β, b1 and b2 are β₁ and β₂,
// one_minus_b is 1 − β, a is α or α_t, e is ε or ε_t):
//   gradient_descent  W = W - (a*g)                         c = [a]
//   momentum          v = b*v + (1-b)*g; W = W - (a*v)      c = [b, 1-b, a]
//   rmsprop           s = b*s + (1-b)*(g*g);
//                     W = W - (a*g)/(sqrt(s) + e)           c = [b, 1-b, a, e]
//   rmsprop_keras     ... W = W - (a*g)/sqrt(s + e)
//   adam              v = b1*v + (1-b1)*g; s = b2*s + (1-b2)*(g*g);
//                     W = W - (a*v)/(sqrt(s) + e)           c = [b1, 1-b1, b2, 1-b2, a, e]

#define EIGEN_USE_THREADS

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/resource_var.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/kernels/training_op_helpers.h"

namespace keras_optims {

using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;

REGISTER_OP("KerasOptimsCourseUpdate")
    .Input("variables: N * resource")
    .Input("slots: M * resource")
    .Input("offsets: int64")
    .Input("gradients: N * T")
    .Input("scalars: float64")
    .Attr("N: int >= 1")
    .Attr("M: int >= 0")
    .Attr("T: {float, double}")
    .Attr("rule: {'gradient_descent', 'momentum', 'rmsprop', 'rmsprop_keras', 'adam'}")
    .SetIsStateful()
    .SetShapeFn(::tensorflow::shape_inference::NoOutputs)
    .Doc("Applies a keras_optims course rule to N variables. Each of the rule's "
         "M slots is one buffer holding every variable's slot: variable i's "
         "elements start at offsets[i] (a buffer per variable: offsets 0).");

enum class Rule { kGradientDescent, kMomentum, kRMSProp, kRMSPropKeras, kAdam };

int SlotCount(Rule rule) {
  switch (rule) {
    case Rule::kGradientDescent: return 0;
    case Rule::kMomentum: case Rule::kRMSProp: case Rule::kRMSPropKeras: return 1;
    case Rule::kAdam: return 2;
  }
  return 0;
}

int ScalarCount(Rule rule) {
  switch (rule) {
    case Rule::kGradientDescent: return 1;
    case Rule::kMomentum: return 3;
    case Rule::kRMSProp: case Rule::kRMSPropKeras: return 4;
    case Rule::kAdam: return 6;
  }
  return 0;
}

template <typename T>
struct Piece {
  T* w;
  T* s0;
  T* s1;
  const T* g;
  int64_t n;
};

#if defined(__GNUC__) || defined(__clang__)
#define KERAS_OPTIMS_INLINE inline __attribute__((always_inline))
#else
#define KERAS_OPTIMS_INLINE inline
#endif

// s = b*s + (1-b)*(g*g); W = W - (a*g)/(sqrt(s) + e), or /sqrt(s + e).
template <typename T, bool epsilon_inside_root>
KERAS_OPTIMS_INLINE void RMSProp(const T* c, T* __restrict w, T* __restrict x, const T* __restrict g, int64_t n) {
  const T b = c[0], one_minus_b = c[1], a = c[2], e = c[3];
  for (int64_t i = 0; i < n; ++i) {
    const T s = b * x[i] + one_minus_b * (g[i] * g[i]);
    x[i] = s;
    const T denominator = epsilon_inside_root ? std::sqrt(s + e) : std::sqrt(s) + e;
    w[i] = w[i] - (a * g[i]) / denominator;
  }
}

// The element loops, written once; compiled below for each instruction set.
template <typename T>
KERAS_OPTIMS_INLINE void ApplyLoops(Rule rule, const T* c, const Piece<T>& p) {
  T* __restrict w = p.w;
  T* __restrict x = p.s0;
  T* __restrict y = p.s1;
  const T* __restrict g = p.g;
  const int64_t n = p.n;
  switch (rule) {
    case Rule::kGradientDescent: {
      const T a = c[0];
      for (int64_t i = 0; i < n; ++i) w[i] = w[i] - a * g[i];
      break;
    }
    case Rule::kMomentum: {
      const T b = c[0], one_minus_b = c[1], a = c[2];
      for (int64_t i = 0; i < n; ++i) {
        const T v = b * x[i] + one_minus_b * g[i];
        x[i] = v;
        w[i] = w[i] - a * v;
      }
      break;
    }
    case Rule::kRMSProp:
      RMSProp<T, /*epsilon_inside_root=*/false>(c, w, x, g, n);
      break;
    case Rule::kRMSPropKeras:
      RMSProp<T, /*epsilon_inside_root=*/true>(c, w, x, g, n);
      break;
    case Rule::kAdam: {
      const T b1 = c[0], one_minus_b1 = c[1], b2 = c[2], one_minus_b2 = c[3], a = c[4], e = c[5];
      for (int64_t i = 0; i < n; ++i) {
        const T v = b1 * x[i] + one_minus_b1 * g[i];
        const T s = b2 * y[i] + one_minus_b2 * (g[i] * g[i]);
        x[i] = v;
        y[i] = s;
        w[i] = w[i] - (a * v) / (std::sqrt(s) + e);
      }
      break;
    }
  }
}

// Instruction sets. The loops above are compiled once per x86-64 vector
// width (baseline SSE2, AVX2, AVX-512) and the widest the CPU has is picked
// once, when the library loads (KERAS_OPTIMS_ISA may ask for a narrower one).
// Every width performs the same IEEE operations in the same order, and
// -ffp-contract=off keeps fused multiply-adds out of all of them, so every
// path gives the same bits; one library suits every CPU that can load it.
enum class Isa { kBaseline, kAvx2, kAvx512 };

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    case Isa::kBaseline: break;
  }
#if defined(__x86_64__)
  return "sse2";
#elif defined(__aarch64__)
  return "neon";
#else
  return "baseline";
#endif
}

template <typename T>
void ApplyBaseline(Rule rule, const T* c, const Piece<T>& p) { ApplyLoops<T>(rule, c, p); }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KERAS_OPTIMS_X86_DISPATCH 1
template <typename T>
__attribute__((target("avx2"))) void ApplyAvx2(Rule rule, const T* c, const Piece<T>& p) {
  ApplyLoops<T>(rule, c, p);
}
template <typename T>
__attribute__((target("avx512f"))) void ApplyAvx512(Rule rule, const T* c, const Piece<T>& p) {
  ApplyLoops<T>(rule, c, p);
}
#endif

Isa DetectIsa() {
  Isa best = Isa::kBaseline;
#ifdef KERAS_OPTIMS_X86_DISPATCH
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) best = Isa::kAvx512;
  else if (__builtin_cpu_supports("avx2")) best = Isa::kAvx2;
#endif
  const char* wanted = std::getenv("KERAS_OPTIMS_ISA");
  if (wanted != nullptr) {
    const std::string name(wanted);
    Isa asked = best;
    if (name == "avx2") asked = Isa::kAvx2;
    else if (name == "baseline" || name == "sse2") asked = Isa::kBaseline;
    if (static_cast<int>(asked) < static_cast<int>(best)) best = asked;  // never wider than the CPU has
  }
  return best;
}

const Isa kIsa = DetectIsa();

template <typename T>
void Apply(Rule rule, const T* c, const Piece<T>& p) {
#ifdef KERAS_OPTIMS_X86_DISPATCH
  if (kIsa == Isa::kAvx512) return ApplyAvx512<T>(rule, c, p);
  if (kIsa == Isa::kAvx2) return ApplyAvx2<T>(rule, c, p);
#endif
  ApplyBaseline<T>(rule, c, p);
}

REGISTER_OP("KerasOptimsCourseUpdateIsa")
    .Output("isa: string")
    .SetShapeFn(::tensorflow::shape_inference::ScalarShape)
    .Doc("The instruction set the KerasOptimsCourseUpdate kernel runs with.");

class CourseUpdateIsaOp : public OpKernel {
 public:
  explicit CourseUpdateIsaOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}
  void Compute(OpKernelContext* ctx) override {
    Tensor* out = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, ::tensorflow::TensorShape({}), &out));
    out->scalar<::tensorflow::tstring>()() = IsaName(kIsa);
  }
};

REGISTER_KERNEL_BUILDER(Name("KerasOptimsCourseUpdateIsa").Device(::tensorflow::DEVICE_CPU), CourseUpdateIsaOp);

template <typename T>
class CourseUpdateOp : public OpKernel {
 public:
  explicit CourseUpdateOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    std::string rule;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("rule", &rule));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("N", &n_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("M", &m_));
    if (rule == "gradient_descent") rule_ = Rule::kGradientDescent;
    else if (rule == "momentum") rule_ = Rule::kMomentum;
    else if (rule == "rmsprop") rule_ = Rule::kRMSProp;
    else if (rule == "rmsprop_keras") rule_ = Rule::kRMSPropKeras;
    else rule_ = Rule::kAdam;
    OP_REQUIRES(ctx, m_ == SlotCount(rule_),
                absl::InvalidArgumentError("rule " + rule + " takes " +
                    std::to_string(SlotCount(rule_)) + " slot buffer(s)"));
  }

  void Compute(OpKernelContext* ctx) override {
    // Everything is checked before any memory is touched: a call that fails
    // a check raises InvalidArgumentError and leaves every buffer as it was.
    const int first_gradient = n_ + m_ + 1;
    const Tensor& offsets = ctx->input(n_ + m_);
    const Tensor& scalars = ctx->input(first_gradient + n_);
    OP_REQUIRES(ctx, ::tensorflow::TensorShapeUtils::IsVector(scalars.shape()) &&
                         scalars.NumElements() == ScalarCount(rule_),
                absl::InvalidArgumentError("wrong number of scalars: the rule takes " +
                                           std::to_string(ScalarCount(rule_)) + " in a vector, got shape " +
                                           scalars.shape().DebugString()));
    OP_REQUIRES(ctx, ::tensorflow::TensorShapeUtils::IsVector(offsets.shape()) && offsets.NumElements() == n_,
                absl::InvalidArgumentError("one offset per variable is needed: " + std::to_string(n_) +
                                           " variables, offsets of shape " + offsets.shape().DebugString()));
    T c[6];
    for (int k = 0; k < ScalarCount(rule_); ++k) c[k] = static_cast<T>(scalars.flat<double>()(k));

    std::vector<int> resource_inputs(n_ + m_);
    for (int i = 0; i < n_ + m_; ++i) resource_inputs[i] = i;
    auto locks = ::tensorflow::MaybeLockVariableInputMutexesInOrder<Eigen::ThreadPoolDevice, T>(
        ctx, /*do_lock=*/true, /*sparse=*/false, resource_inputs);

    // Every variable and slot buffer must be a distinct, initialized
    // variable holding a tensor of dtype T (the locks are held from here on).
    std::vector<const ::tensorflow::Var*> seen;
    for (int input = 0; input < n_ + m_; ++input) {
      ::tensorflow::core::RefCountPtr<::tensorflow::Var> var;
      OP_REQUIRES_OK(ctx, ::tensorflow::LookupResource(ctx, ::tensorflow::HandleFromInput(ctx, input), &var));
      OP_REQUIRES(ctx, var->is_initialized,
                  absl::FailedPreconditionError("input " + std::to_string(input) + " is an uninitialized variable"));
      OP_REQUIRES(ctx, var->tensor()->dtype() == ::tensorflow::DataTypeToEnum<T>::v(),
                  absl::InvalidArgumentError("input " + std::to_string(input) + " is a variable of dtype " +
                                             ::tensorflow::DataTypeString(var->tensor()->dtype()) +
                                             ", but the gradients are " +
                                             ::tensorflow::DataTypeString(::tensorflow::DataTypeToEnum<T>::v())));
      OP_REQUIRES(ctx, std::find(seen.begin(), seen.end(), var.get()) == seen.end(),
                  absl::InvalidArgumentError("input " + std::to_string(input) +
                                             " is a variable already passed as an earlier input; every "
                                             "variable and slot buffer must be a different variable"));
      seen.push_back(var.get());
    }

    std::vector<Tensor> held(n_ + m_);
    T* slot[2] = {nullptr, nullptr};
    int64_t slot_size[2] = {0, 0};
    for (int k = 0; k < m_; ++k) {
      OP_REQUIRES_OK(ctx, ::tensorflow::GetInputTensorFromVariable<Eigen::ThreadPoolDevice, T>(
                              ctx, n_ + k, true, false, &held[n_ + k]));
      slot[k] = held[n_ + k].flat<T>().data();
      slot_size[k] = held[n_ + k].NumElements();
    }

    // Each variable's part of a slot buffer, [offset, offset + size), must
    // lie inside the buffer (checked without overflow) and overlap no other
    // variable's part.
    std::vector<std::pair<int64_t, int64_t>> parts;  // (offset, size), size > 0
    const auto offset_of = offsets.flat<int64_t>();
    for (int i = 0; i < n_; ++i) {
      OP_REQUIRES_OK(ctx, ::tensorflow::GetInputTensorFromVariable<Eigen::ThreadPoolDevice, T>(
                              ctx, i, true, false, &held[i]));
      const Tensor& gradient = ctx->input(first_gradient + i);
      OP_REQUIRES(ctx, held[i].dtype() == gradient.dtype() && held[i].shape() == gradient.shape(),
                  absl::InvalidArgumentError(
                      "variable " + std::to_string(i) + " has shape " + held[i].shape().DebugString() +
                      " but its gradient has shape " + gradient.shape().DebugString()));
      const int64_t size = held[i].NumElements();
      const int64_t offset = offset_of(i);
      for (int k = 0; k < m_; ++k) {
        OP_REQUIRES(ctx, offset >= 0 && offset <= slot_size[k] && size <= slot_size[k] - offset,
                    absl::InvalidArgumentError("slot buffer " + std::to_string(k) + " of " +
                                               std::to_string(slot_size[k]) + " elements cannot hold variable " +
                                               std::to_string(i) + " (" + std::to_string(size) +
                                               " elements) at offset " + std::to_string(offset)));
      }
      if (m_ > 0 && size > 0) parts.emplace_back(offset, size);
    }
    std::sort(parts.begin(), parts.end());
    for (size_t p = 1; p < parts.size(); ++p) {
      OP_REQUIRES(ctx, parts[p - 1].first + parts[p - 1].second <= parts[p].first,
                  absl::InvalidArgumentError("variables overlap in the slot buffers: elements " +
                                             std::to_string(parts[p - 1].first) + " to " +
                                             std::to_string(parts[p - 1].first + parts[p - 1].second - 1) +
                                             " and the part from offset " + std::to_string(parts[p].first)));
    }

    constexpr int64_t kPiece = 1 << 15;  // elements per unit of parallel work
    std::vector<Piece<T>> pieces;
    for (int i = 0; i < n_; ++i) {
      const int64_t size = held[i].NumElements();
      const int64_t offset = offset_of(i);
      T* w = held[i].flat<T>().data();
      const T* g = ctx->input(first_gradient + i).flat<T>().data();
      for (int64_t start = 0; start < size; start += kPiece) {
        pieces.push_back({w + start, slot[0] ? slot[0] + offset + start : nullptr,
                          slot[1] ? slot[1] + offset + start : nullptr, g + start,
                          std::min(kPiece, size - start)});
      }
    }
    const Rule rule = rule_;
    auto work = [&pieces, &c, rule](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) Apply<T>(rule, c, pieces[k]);
    };
    auto* workers = ctx->device()->tensorflow_cpu_worker_threads()->workers;
    const int64_t cost = kPiece * (4 + 3 * m_) * static_cast<int64_t>(sizeof(T));
    workers->ParallelFor(static_cast<int64_t>(pieces.size()), cost, work);
  }

 private:
  Rule rule_;
  int n_;
  int m_;
};

REGISTER_KERNEL_BUILDER(Name("KerasOptimsCourseUpdate").Device(::tensorflow::DEVICE_CPU).TypeConstraint<float>("T"),
                        CourseUpdateOp<float>);
REGISTER_KERNEL_BUILDER(Name("KerasOptimsCourseUpdate").Device(::tensorflow::DEVICE_CPU).TypeConstraint<double>("T"),
                        CourseUpdateOp<double>);

}  // namespace keras_optims
