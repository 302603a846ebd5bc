using NativeAlign.Backends;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Tensors;
using NativeAlign.Tests.Backends.OpenCl;

namespace NativeAlign.Tests.Backends;

/// <summary>
/// What the conformance suite (Conformance/, which runs top-k on every backend against float64 as sets under the tie
/// rule) does not check: the OpenCL refusal of a k beyond its kernel names the backend and the k at bind time.
/// </summary>
public sealed class TopKOpTests
{
    [Test]
    public void OpenCl_RefusesKBeyondItsKernel_AtBindTime()
    {
        using var device = OpenClTestDevice.Open();
        using var backend = OpenClBackend.Create(device.Context);
        var ex = Assert.Throws<BackendException>(() => backend.Require(new OpSpec(BackendOp.TopK, WeightType.F32, 0, 384) { K = 17 }));
        Assert.That(ex!.Message, Does.Contain("opencl").And.Contain("k 17"));
    }
}
