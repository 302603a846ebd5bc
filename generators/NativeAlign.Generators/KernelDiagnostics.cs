using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace NativeAlign.Generators;

/// <summary>
/// One diagnostic per construct the kernel translator refuses, reported at the offending span. The ids are listed in
/// AnalyzerReleases.Unshipped.md.
/// </summary>
internal static class KernelDiagnostics
{
    private const string Category = "NativeAlign.Kernels";

    public static readonly DiagnosticDescriptor UnsupportedConstruct = Error(
        "NAK0001", "Unsupported construct in kernel", "Kernel '{0}': {1} is not supported in kernels");

    public static readonly DiagnosticDescriptor ForEach = Error(
        "NAK0002", "foreach in kernel", "Kernel '{0}': foreach is not supported in kernels; use a for loop over an index");

    public static readonly DiagnosticDescriptor ExceptionHandling = Error(
        "NAK0003", "Exception handling in kernel", "Kernel '{0}': {1} is not supported in kernels (devices have no exceptions)");

    public static readonly DiagnosticDescriptor Lambda = Error(
        "NAK0004", "Lambda or local function in kernel", "Kernel '{0}': lambdas, anonymous methods and local functions are not supported in kernels; use a static helper method");

    public static readonly DiagnosticDescriptor StringUse = Error(
        "NAK0005", "String in kernel", "Kernel '{0}': strings are not supported in kernels");

    public static readonly DiagnosticDescriptor Allocation = Error(
        "NAK0006", "Allocation in kernel", "Kernel '{0}': '{1}' allocates; kernels cannot allocate (pass buffers, or a LocalBuffer for scratch memory)");

    public static readonly DiagnosticDescriptor Linq = Error(
        "NAK0007", "LINQ in kernel", "Kernel '{0}': LINQ is not supported in kernels; write the loop");

    public static readonly DiagnosticDescriptor Recursion = Error(
        "NAK0008", "Recursion in kernel", "Kernel '{0}': '{1}' is recursive; OpenCL C forbids recursion");

    public static readonly DiagnosticDescriptor VirtualCall = Error(
        "NAK0009", "Instance, virtual or interface call in kernel", "Kernel '{0}': '{1}' is an instance, virtual or interface call; kernels can only call static methods");

    public static readonly DiagnosticDescriptor CapturedState = Error(
        "NAK0010", "Captured state in kernel", "Kernel '{0}': '{1}' reads state outside the kernel (a field, property or 'this'); pass it as a parameter or make it a const");

    public static readonly DiagnosticDescriptor UnsupportedParameter = Error(
        "NAK0011", "Unsupported kernel parameter", "Kernel '{0}': parameter '{1}' of type '{2}' is not supported; use a scalar (float, int, uint, long, ulong, Half), GlobalBuffer<T>, ReadOnlyGlobalBuffer<T> or LocalBuffer<T>");

    public static readonly DiagnosticDescriptor InvalidKernelMethod = Error(
        "NAK0012", "Invalid kernel method", "Kernel '{0}': {1}");

    public static readonly DiagnosticDescriptor UnsupportedCall = Error(
        "NAK0013", "Unsupported method call in kernel", "Kernel '{0}': '{1}' has no device translation (only intrinsics, mapped MathF/Math functions and static helper methods in source can be called)");

    public static readonly DiagnosticDescriptor UnsupportedType = Error(
        "NAK0014", "Unsupported type in kernel", "Kernel '{0}': type '{1}' is not supported in kernels (double needs MathF and float; structs and classes are not translated)");

    public static readonly DiagnosticDescriptor NestedSideEffect = Error(
        "NAK0015", "Side effect inside an expression", "Kernel '{0}': an assignment or ++/-- inside a larger expression is not supported (C leaves its order unspecified where C#'s is left to right); make it a statement of its own");

    public static readonly DiagnosticDescriptor InvalidSpecialization = Error(
        "NAK0016", "Invalid specialisation", "Kernel '{0}': [Specialize] {1}");

    public static readonly DiagnosticDescriptor LocalAllocation = Error(
        "NAK0017", "Invalid local memory allocation", "Kernel '{0}': LocalMemory.Allocate must initialise a local declared at the kernel's outermost scope (not in a helper, loop or branch) with a constant positive length");

    public static readonly DiagnosticDescriptor InvalidMicroKernelType = Error(
        "NAK0018", "Invalid micro-kernel type", "Micro-kernel '{0}': {1}");

    public static readonly DiagnosticDescriptor InvalidMicroKernelShape = Error(
        "NAK0019", "Invalid GEMM micro-kernel shape", "Micro-kernel '{0}': {1}");

    public static readonly DiagnosticDescriptor MicroKernelColumnsNotLaneMultiple = Error(
        "NAK0020", "GEMM micro-kernel columns not a multiple of the vector lanes", "Micro-kernel '{0}': Columns = {1} is not a multiple of the {2} float lanes of a {3}-bit vector");

    public static readonly DiagnosticDescriptor MicroKernelRegisterBudget = Error(
        "NAK0021", "GEMM micro-kernel exceeds the register file", "Micro-kernel '{0}': the tile needs {1} = {2} registers, more than the {3} available; accumulators would spill and halve the FMA rate");

    public static readonly DiagnosticDescriptor AttentionHeadSizeUnsupported = Error(
        "NAK0022", "Unsupported attention micro-kernel head size", "Micro-kernel '{0}': HeadSize = {1} is not supported; attention tiles are emitted for head sizes 32, 64 and 128, other head sizes run the generic attention");

    public static readonly DiagnosticDescriptor AttentionVectorWidth = Error(
        "NAK0023", "Invalid attention micro-kernel vector width", "Micro-kernel '{0}': VectorBits = {1} is not a register width; use 512, 256 or 0 (scalar)");

    public static readonly DiagnosticDescriptor AttentionRegisterBudget = Error(
        "NAK0024", "Attention micro-kernel exceeds the register file", "Micro-kernel '{0}': head size {1} needs {2} = {3} registers, more than the {4} available; the query row or the accumulator would spill on every key");

    public static readonly DiagnosticDescriptor UnsupportedSwitch = Error(
        "NAK0025", "Unsupported switch form in kernel", "Kernel '{0}': {1} is not supported; kernels take switch statements on an integer or enum value with constant case labels, default and break");

    private static readonly Dictionary<string, DiagnosticDescriptor> All = new[]
    {
        UnsupportedConstruct, ForEach, ExceptionHandling, Lambda, StringUse, Allocation, Linq, Recursion, VirtualCall,
        CapturedState, UnsupportedParameter, InvalidKernelMethod, UnsupportedCall, UnsupportedType, NestedSideEffect, InvalidSpecialization, LocalAllocation,
        InvalidMicroKernelType, InvalidMicroKernelShape, MicroKernelColumnsNotLaneMultiple, MicroKernelRegisterBudget,
        AttentionHeadSizeUnsupported, AttentionVectorWidth, AttentionRegisterBudget, UnsupportedSwitch,
    }.ToDictionary(d => d.Id);

    public static DiagnosticDescriptor ById(string id) => All[id];

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
