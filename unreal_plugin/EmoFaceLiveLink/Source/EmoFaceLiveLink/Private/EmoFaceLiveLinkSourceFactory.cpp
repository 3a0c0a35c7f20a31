// emoface — MIT licence

#include "EmoFaceLiveLinkSourceFactory.h"

#include "EmoFaceLiveLinkSource.h"
#include "EmoFaceStreamProtocol.h"
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
	FString Url, Subject, Character, Token;
	if (!ParseConnectionString(ConnectionString, Url, Subject, Character, Token))
	{
		return TSharedPtr<ILiveLinkSource>();
	}
	// A hand-edited preset can hold a name the panel would refuse; the server would answer every attempt with
	// HTTP 400, so say why here instead of retrying forever.
	if (!IsValidEmoFaceCharacter(Character))
	{
		UE_LOG(LogEmoFaceLiveLink, Error, TEXT("emoface source not created: character '%s' is not 1-64 letters, digits, '_', '.' or '-'"), *Character);
		return TSharedPtr<ILiveLinkSource>();
	}
	return MakeShared<FEmoFaceLiveLinkSource>(Url, Subject, Character, Token);
}

FString UEmoFaceLiveLinkSourceFactory::MakeConnectionString(const FString& Url, const FString& Subject, const FString& Character, const FString& Token)
{
	using namespace EmoFaceFactory;
	return FString::Printf(TEXT("Url=\"%s\" Subject=\"%s\" Character=\"%s\" Token=\"%s\""),
		*Unquoted(Url), *Unquoted(Subject), *Unquoted(Character), *Unquoted(Token));
}

bool UEmoFaceLiveLinkSourceFactory::ParseConnectionString(const FString& ConnectionString, FString& OutUrl, FString& OutSubject, FString& OutCharacter, FString& OutToken)
{
	OutUrl.Reset();
	OutSubject.Reset();
	OutCharacter.Reset();
	OutToken.Reset();
	// FParse::Value reads a quoted value whole, so "ws://host:port/?a=b" survives its separators. A string saved
	// before characters existed has no Character=: it stays empty, the server's default character, as then.
	FParse::Value(*ConnectionString, TEXT("Url="), OutUrl);
	FParse::Value(*ConnectionString, TEXT("Subject="), OutSubject);
	FParse::Value(*ConnectionString, TEXT("Character="), OutCharacter);
	FParse::Value(*ConnectionString, TEXT("Token="), OutToken);
	if (OutSubject.IsEmpty())
	{
		OutSubject = EmoFaceFactory::DefaultSubject;
	}
	return !OutUrl.IsEmpty();
}

#undef LOCTEXT_NAMESPACE
