namespace NativeAlign.Kernels;

/// <summary>Marks a static method as a device kernel: the generator translates it to OpenCL C at compile time.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class KernelAttribute : Attribute
{
}
