// emoface — MIT licence

using UnrealBuildTool;

public class EmoFaceLiveLink : ModuleRules
{
	public EmoFaceLiveLink(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;

		// Public headers expose ILiveLinkSource and ULiveLinkSourceFactory.
		PublicDependencyModuleNames.AddRange(new string[]
		{
			"Core",
			"CoreUObject",
			"Engine",
			"LiveLinkInterface",
		});

		PrivateDependencyModuleNames.AddRange(new string[]
		{
			"WebSockets",  // an engine module, not a plugin: nothing to enable in the .uplugin
			"Json",
			"Slate",
			"SlateCore",
			"InputCore",
			"Projects",    // IPluginManager, for the automation test to find the shared vectors
		});
	}
}
