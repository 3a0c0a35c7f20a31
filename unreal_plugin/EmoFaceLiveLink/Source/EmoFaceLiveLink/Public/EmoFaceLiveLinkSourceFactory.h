// emoface — MIT licence

#pragma once

#include "CoreMinimal.h"
#include "LiveLinkSourceFactory.h"

#include "EmoFaceLiveLinkSourceFactory.generated.h"

/**
 * Puts "emoface" in the Live Link window's "+ Source" menu. Found by Live Link through reflection (every
 * ULiveLinkSourceFactory subclass), so the module registers nothing.
 *
 * Connection string (saved in Live Link presets; note it holds the token in plain text):
 *   Url="ws://127.0.0.1:8765" Subject="emoface" Character="npc1" Token=""
 * Character is the server's character (empty: its default one); a string without Character= (saved before
 * characters existed) reads as empty, so old presets still connect as they did.
 */
UCLASS()
class EMOFACELIVELINK_API UEmoFaceLiveLinkSourceFactory : public ULiveLinkSourceFactory
{
	GENERATED_BODY()

public:
	//~ Begin ULiveLinkSourceFactory interface
	virtual FText GetSourceDisplayName() const override;
	virtual FText GetSourceTooltip() const override;
	virtual EMenuType GetMenuType() const override { return EMenuType::SubPanel; }
	virtual TSharedPtr<SWidget> BuildCreationPanel(FOnLiveLinkSourceCreated OnLiveLinkSourceCreated) const override;
	virtual TSharedPtr<ILiveLinkSource> CreateSource(const FString& ConnectionString) const override;
	//~ End ULiveLinkSourceFactory interface

	static FString MakeConnectionString(const FString& Url, const FString& Subject, const FString& Character, const FString& Token);
	static bool ParseConnectionString(const FString& ConnectionString, FString& OutUrl, FString& OutSubject, FString& OutCharacter, FString& OutToken);
};
