using System.Text;

namespace NativeAlign.Generators;

/// <summary>An indented text writer with '\n' line endings, so the output does not depend on the host.</summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    public void Line(string line = "")
    {
        if (line.Length > 0)
        {
            _text.Append(' ', _indent * 4);
        }

        _text.Append(line).Append('\n');
    }

    /// <summary>Appends to the last line (e.g. the semicolon after a switch expression's brace).</summary>
    public void Append(string text)
    {
        _text.Length--;
        _text.Append(text).Append('\n');
    }

    public void Open()
    {
        Line("{");
        _indent++;
    }

    public void Close()
    {
        _indent--;
        Line("}");
    }

    public override string ToString() => _text.ToString();
}
