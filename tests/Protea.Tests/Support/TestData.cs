namespace Protea.Tests.Support;

/// <summary>Small data files shipped with the tests (copied into the output folder by the project file).</summary>
public static class TestData
{
    /// <summary>Fisher's iris: 150 rows, columns sepal_length, sepal_width, petal_length, petal_width, species (setosa, versicolor, virginica).</summary>
    public static string IrisCsv => Path.Combine(AppContext.BaseDirectory, "Data", "iris.csv");
}
