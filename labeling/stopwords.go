package labeling

// stopWords are English function words and very common verbs that say
// nothing about a topic; they are never keywords and break bigrams.
var stopWords = map[string]bool{}

func init() {
	for _, w := range []string{
		"a", "about", "above", "across", "after", "afterwards", "again", "against", "all", "almost", "alone", "along",
		"already", "also", "although", "always", "am", "among", "amongst", "an", "and", "another", "any", "anyhow",
		"anyone", "anything", "anyway", "anywhere", "are", "around", "as", "at", "back", "be", "became", "because",
		"become", "becomes", "becoming", "been", "before", "beforehand", "behind", "being", "below", "beside", "besides",
		"between", "beyond", "both", "but", "by", "can", "cannot", "could", "did", "do", "does", "doing", "done", "down",
		"due", "during", "each", "eg", "either", "else", "elsewhere", "enough", "etc", "even", "ever", "every", "everyone",
		"everything", "everywhere", "except", "few", "for", "former", "formerly", "from", "further", "get", "gets", "got",
		"had", "has", "have", "having", "he", "hence", "her", "here", "hereafter", "hereby", "herein", "hers", "herself",
		"him", "himself", "his", "how", "however", "ie", "if", "in", "indeed", "into", "is", "it", "its", "itself", "just",
		"last", "latter", "least", "less", "made", "make", "makes", "many", "may", "me", "meanwhile", "might", "mine",
		"more", "moreover", "most", "mostly", "much", "must", "my", "myself", "namely", "neither", "never", "nevertheless",
		"next", "no", "nobody", "none", "nor", "not", "nothing", "now", "nowhere", "of", "off", "often", "on", "once",
		"one", "only", "onto", "or", "other", "others", "otherwise", "our", "ours", "ourselves", "out", "over", "own",
		"per", "perhaps", "please", "put", "rather", "re", "same", "see", "seem", "seemed", "seeming", "seems", "several",
		"she", "should", "since", "so", "some", "somehow", "someone", "something", "sometime", "sometimes", "somewhere",
		"still", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "thence", "there",
		"thereafter", "thereby", "therefore", "therein", "thereupon", "these", "they", "this", "those", "though",
		"through", "throughout", "thru", "thus", "to", "together", "too", "toward", "towards", "under", "until", "up",
		"upon", "us", "use", "used", "uses", "using", "very", "via", "was", "we", "well", "were", "what", "whatever",
		"when", "whence", "whenever", "where", "whereafter", "whereas", "whereby", "wherein", "whereupon", "wherever",
		"whether", "which", "while", "whither", "who", "whoever", "whole", "whom", "whose", "why", "will", "with",
		"within", "without", "would", "yet", "you", "your", "yours", "yourself", "yourselves", "s", "t", "d", "ll",
		"m", "ve", "don", "doesn", "didn", "isn", "aren", "wasn", "weren", "won", "wouldn", "shouldn", "couldn", "can't",
		"like", "new", "two", "first", "way", "need", "want", "say", "says", "said", "let", "lets", "go", "goes", "going",
		"don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "won't", "wouldn't", "shouldn't",
		"couldn't", "it's", "i'm", "i've", "you're", "we're", "they're", "that's", "there's", "let's",
		"take", "takes", "give", "gives", "given", "know", "think", "look", "come", "comes", "thing", "things", "lot",
	} {
		stopWords[w] = true
	}
}
