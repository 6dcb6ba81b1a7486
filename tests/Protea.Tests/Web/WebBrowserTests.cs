using Microsoft.Playwright;
using Protea.Tests.Support;

namespace Protea.Tests.Web;

/// <summary>
/// The page in a real browser: Debian's chromium (scripts/setup installs it), driven headless by
/// Playwright through its executable path (Playwright's own browser download is not used). With
/// PROTEA_WEB_SCREENSHOTS set to a folder, the main views are saved there as PNGs (the README's pictures).
/// </summary>
public class WebBrowserTests(WebModelFixture fixture) : IClassFixture<WebModelFixture>
{
    private const string Chromium = "/usr/bin/chromium";

    private static async Task<(IPlaywright, IBrowser, IPage)> Open(Uri address, int width = 1000)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing; run scripts/setup");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(address.ToString());
        await Assertions.Expect(page.Locator("#model-line")).ToContainTextAsync("ncm head");
        return (playwright, browser, page);
    }

    private static async Task Close((IPlaywright Playwright, IBrowser Browser, IPage Page) session)
    {
        await session.Browser.CloseAsync();
        session.Playwright.Dispose();
    }

    private static FilePayload Png(string name, byte[] bytes) => new() { Name = name, MimeType = "image/png", Buffer = bytes };

    private static async Task Shot(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("PROTEA_WEB_SCREENSHOTS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name), FullPage = true });
        }
    }

    [Fact]
    public async Task Uploading_an_image_shows_the_prediction_bars_and_nearest_items()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        var session = await Open(server.Address);
        var page = session.Item3;
        try
        {
            var (cls, png) = fixture.HeldOut.First(h => h.Class == "trouser");
            await page.Locator("#predict-files").SetInputFilesAsync(Png("trouser.png", png));
            var card = page.Locator("article.prediction");
            await Assertions.Expect(card).ToHaveCountAsync(1);
            await Assertions.Expect(card.Locator("h3")).ToContainTextAsync($"trouser.png: {cls}");
            await Assertions.Expect(card.Locator(".bars li")).ToHaveCountAsync(3);
            // Evidence: three nearest training items of the class, their images loaded from the server.
            var figures = card.Locator("figure.nearest");
            await Assertions.Expect(figures).ToHaveCountAsync(3);
            await Assertions.Expect(figures.First).ToContainTextAsync($"{cls}: {cls}/");
            var loaded = await figures.Locator("img").EvaluateAllAsync<bool[]>("imgs => imgs.map(i => i.complete && i.naturalWidth === 28)");
            Assert.All(loaded, Assert.True);
            await Shot(page, "web-predict.png");

            // The heat-map toggle shows the prediction's Grad-CAM map, fetched only then (input, overlay, map: 704 x 276 px).
            var heat = card.Locator("figure.saliency-map");
            await Assertions.Expect(heat).ToBeHiddenAsync();
            Assert.Null(await heat.Locator("img").GetAttributeAsync("src"));
            await page.GetByLabel("Show heat maps").CheckAsync();
            await Assertions.Expect(heat).ToBeVisibleAsync();
            await Assertions.Expect(heat).ToContainTextAsync($"gradcam, class {cls}");
            await Assertions.Expect(heat.Locator("img")).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("^/api/saliency/[0-9a-f]{32}\\.png$"));
            await page.WaitForFunctionAsync("() => { const i = document.querySelector('figure.saliency-map img'); return i.complete && i.naturalWidth > 0; }");
            var size = await heat.Locator("img").EvaluateAsync<int[]>("i => [i.naturalWidth, i.naturalHeight]");
            Assert.Equal([704, 276], size);
            await Shot(page, "web-heatmap.png");
            await page.GetByLabel("Show heat maps").UncheckAsync();
            await Assertions.Expect(heat).ToBeHiddenAsync();

            // The class gallery: each class with its training examples from the kept index.
            await page.GetByRole(AriaRole.Button, new() { Name = "Classes" }).ClickAsync();
            await Assertions.Expect(page.Locator("#class-list li")).ToHaveCountAsync(3);
            await page.GetByRole(AriaRole.Button, new() { Name = "bag (" }).ClickAsync();
            await Assertions.Expect(page.Locator("#class-detail img")).ToHaveCountAsync(8);
            await Shot(page, "web-classes.png");
        }
        finally
        {
            await Close(session);
        }
    }

    [Fact]
    public async Task Teaching_a_class_from_five_images_makes_the_page_predict_it()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        var session = await Open(server.Address);
        var page = session.Item3;
        try
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Teach a class" }).ClickAsync();
            await page.GetByLabel("Class name").FillAsync("sneaker");
            await page.Locator("#teach-files").SetInputFilesAsync(fixture.Sneakers.Take(5).Select((b, i) => Png($"s{i}.png", b)).ToArray());
            await Shot(page, "web-teach.png");
            await page.GetByRole(AriaRole.Button, new() { Name = "Teach", Exact = true }).ClickAsync();
            await Assertions.Expect(page.Locator("#teach-result")).ToContainTextAsync("Learned “sneaker” from 5 images: 3 → 4 classes");
            await Assertions.Expect(page.Locator("#model-line")).ToContainTextAsync("4 classes");

            await page.GetByRole(AriaRole.Button, new() { Name = "Predict" }).First.ClickAsync();
            var held = fixture.Sneakers.Skip(5).Take(6).ToArray();
            await page.Locator("#predict-files").SetInputFilesAsync(held.Select((b, i) => Png($"new{i}.png", b)).ToArray());
            await Assertions.Expect(page.Locator("article.prediction")).ToHaveCountAsync(held.Length);
            var titles = await page.Locator("article.prediction h3").AllTextContentsAsync();
            Assert.True(titles.Count(t => t.Contains(": sneaker (")) >= 4, string.Join(" | ", titles));

            await page.GetByRole(AriaRole.Button, new() { Name = "Classes" }).ClickAsync();
            await Assertions.Expect(page.Locator("#class-list li")).ToHaveCountAsync(4);
            // The grown model no longer carries the kept training index (it belongs to the old weights): no stored examples.
            await page.GetByRole(AriaRole.Button, new() { Name = "sneaker" }).ClickAsync();
            await Assertions.Expect(page.Locator("#class-detail h3")).ToHaveTextAsync("sneaker");
            await Assertions.Expect(page.Locator("#class-detail")).ToContainTextAsync("No stored examples");
        }
        finally
        {
            await Close(session);
        }
    }

    [Fact]
    public async Task A_non_image_upload_shows_the_servers_error()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        var session = await Open(server.Address, width: 380);
        var page = session.Item3;
        try
        {
            await page.Locator("#predict-files").SetInputFilesAsync(new FilePayload { Name = "notes.png", MimeType = "image/png", Buffer = "just text"u8.ToArray() });
            var error = page.Locator("#predict-error");
            await Assertions.Expect(error).ToBeVisibleAsync();
            await Assertions.Expect(error).ToContainTextAsync("notes.png: not a PNG or JPEG image");
            await Assertions.Expect(page.Locator("article.prediction")).ToHaveCountAsync(0);
            await Shot(page, "web-error-narrow.png");
        }
        finally
        {
            await Close(session);
        }
    }

    [Fact]
    public async Task Discovery_review_names_and_adopts_a_cluster()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        var session = await Open(server.Address);
        var page = session.Item3;
        try
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Discover" }).ClickAsync();
            var images = fixture.Sneakers.Take(10).Concat(fixture.HeldOut.Where(h => h.Class == "bag").Take(4).Select(h => h.Png));
            await page.Locator("#discover-files").SetInputFilesAsync(images.Select((b, i) => Png($"u{i}.png", b)).ToArray());
            await page.GetByRole(AriaRole.Button, new() { Name = "Find clusters" }).ClickAsync();
            var clusters = page.Locator("article.cluster");
            await Assertions.Expect(clusters.First).ToBeVisibleAsync();
            await Assertions.Expect(clusters.First.Locator("h3")).ToContainTextAsync("New cluster");
            await Shot(page, "web-discover.png");
            await clusters.First.GetByLabel("Name this cluster as a new class").FillAsync("sneaker");
            await clusters.First.GetByRole(AriaRole.Button, new() { Name = "Adopt" }).ClickAsync();
            await Assertions.Expect(clusters.First.Locator("[role=status]")).ToContainTextAsync("Adopted as “sneaker”: 4 classes");
        }
        finally
        {
            await Close(session);
        }
    }
}
