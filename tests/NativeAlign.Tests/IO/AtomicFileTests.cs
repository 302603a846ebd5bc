using NativeAlign.IO;

namespace NativeAlign.Tests.IO;

public sealed class AtomicFileTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-atomic-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void CommitReplacesTheTargetWholeAndLeavesNoTemporaryFile()
    {
        var path = Path.Combine(_dir, "out.txt");
        File.WriteAllText(path, "old");
        using (var file = AtomicFile.Create(path))
        {
            file.Stream.Write("new content"u8);
            Assert.That(File.ReadAllText(path), Is.EqualTo("old"), "the target must not change before Commit");
            file.Commit();
        }

        Assert.That(File.ReadAllText(path), Is.EqualTo("new content"));
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1));
    }

    [Test]
    public void DisposeWithoutCommitKeepsTheOldFileAndRemovesTheTemporary()
    {
        var path = Path.Combine(_dir, "out.txt");
        File.WriteAllText(path, "old");
        using (var file = AtomicFile.Create(path))
        {
            file.Stream.Write("half-writ"u8);
        }

        Assert.That(File.ReadAllText(path), Is.EqualTo("old"));
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1));
    }

    [Test]
    public void MissingDirectoryIsATypedInputErrorNamingThePath()
    {
        var path = Path.Combine(_dir, "no-such-dir", "out.npy");
        var e = Assert.Throws<InputFormatException>(() => AtomicFile.Create(path));
        Assert.That(e!.Path, Is.EqualTo(path));
        Assert.That(e.Kind, Is.EqualTo(ErrorKind.Input));
    }

    [Test]
    public void ADirectoryAsOutputIsATypedInputError()
    {
        Assert.Throws<InputFormatException>(() => AtomicFile.Create(_dir));
    }
}
