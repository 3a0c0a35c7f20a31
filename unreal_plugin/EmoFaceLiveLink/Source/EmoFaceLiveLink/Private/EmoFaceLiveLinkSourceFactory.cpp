// emoface — MIT licence

#include "EmoFaceLiveLinkSourceFactory.h"

#include "EmoFaceLiveLinkSource.h"
#include "Misc/Parse.h"
#include "SEmoFaceConnectionPanel.h"

#define LOCTEXT_NAMESPACE "EmoFaceLiveLinkSourceFactory"

namespace EmoFaceFactory
{
	static const TCHAR* DefaultSubject = TEXT("emoface");

	// Values are written between double quotes, so a quote inside one would end it early.
	static FString Unquoted(const FString& Value)
	{
		return Value.TrimStartAndEnd().Replace(TEXT("\""), TEXT(""));
	}
}

FText UEmoFaceLiveLinkSourceFactory::GetSourceDisplayName() const
{
	return LOCTEXT("DisplayName", "emoface");
}

FText UEmoFaceLiveLinkSourceFactory::GetSourceTooltip() const
{
	return LOCTEXT("Tooltip", "Face curves streamed by `emoface serve` over WebSocket (ws://host:port).");
}

TSharedPtr<SWidget> UEmoFaceLiveLinkSourceFactory::BuildCreationPanel(FOnLiveLinkSourceCreated OnLiveLinkSourceCreated) const
{
	return SNew(SEmoFaceConnectionPanel).OnSourceCreated(OnLiveLinkSourceCreated);
}

TSharedPtr<ILiveLinkSource> UEmoFaceLiveLinkSourceFactory::CreateSource(const FString& ConnectionString) const
{
	FString Url, Subject, Token;
	if (!ParseConnectionString(ConnectionString, Url, Subject, Token))
	{
		return TSharedPtr<ILiveLinkSource>();
	}
	return MakeShared<FEmoFaceLiveLinkSource>(Url, Subject, Token);
}

FString UEmoFaceLiveLinkSourceFactory::MakeConnectionString(const FString& Url, const FString& Subject, const FString& Token)
{
	using namespace EmoFaceFactory;
	return FString::Printf(TEXT("Url=\"%s\" Subject=\"%s\" Token=\"%s\""), *Unquoted(Url), *Unquoted(Subject), *Unquoted(Token));
}

bool UEmoFaceLiveLinkSourceFactory::ParseConnectionString(const FString& ConnectionString, FString& OutUrl, FString& OutSubject, FString& OutToken)
{
	OutUrl.Reset();
	OutSubject.Reset();
	OutToken.Reset();
	// FParse::Value reads a quoted value whole, so "ws://host:port/?a=b" survives its separators.
	FParse::Value(*ConnectionString, TEXT("Url="), OutUrl);
	FParse::Value(*ConnectionString, TEXT("Subject="), OutSubject);
	FParse::Value(*ConnectionString, TEXT("Token="), OutToken);
	if (OutSubject.IsEmpty())
	{
		OutSubject = EmoFaceFactory::DefaultSubject;
	}
	return !OutUrl.IsEmpty();
}

#undef LOCTEXT_NAMESPACE
