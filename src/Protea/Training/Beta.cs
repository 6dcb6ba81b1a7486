namespace Protea.Training;

/// <summary>Beta(a, a) samples from a seeded System.Random, via two Gamma draws (Marsaglia &amp; Tsang 2000).</summary>
public static class Beta
{
    public static double Sample(Random random, double alpha)
    {
        var x = Gamma(random, alpha);
        var y = Gamma(random, alpha);
        return x / (x + y);
    }

    private static double Gamma(Random random, double shape)
    {
        if (shape < 1)
            // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
            return Gamma(random, shape + 1) * Math.Pow(random.NextDouble(), 1 / shape);
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double z, v;
            do
            {
                z = Normal(random);
                v = 1 + c * z;
            } while (v <= 0);
            v = v * v * v;
            var u = random.NextDouble();
            if (Math.Log(u) < 0.5 * z * z + d - d * v + d * Math.Log(v))
                return d * v;
        }
    }

    private static double Normal(Random random)
    {
        var u1 = 1 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
